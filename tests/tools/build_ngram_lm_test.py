#!/usr/bin/env python3
"""tools/build_ngram_lm.py: the ARPA it writes is a proper distribution (for every history, the
probabilities of all words and </s> sum to 1, read back with the independent ARPA reader of
tests/reference/ctc_beam_search_reference.py), Kneser-Ney behaves as it should (a word seen
after many different words gets more unigram mass than one seen as often after one word),
pruning removes n-grams and keeps the sums at 1, and bad arguments are refused.
Run: python3 tests/tools/build_ngram_lm_test.py (LACT_SRC = repository root)."""
import math
import os
import subprocess
import sys
import tempfile

SRC = os.environ.get("LACT_SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(SRC, "tests", "reference"))
import ctc_beam_search_reference as ref  # noqa: E402

TOOL = os.path.join(SRC, "tools", "build_ngram_lm.py")
TEXT = """the cat sat on the mat
the dog sat on the log
a cat and a dog
the cat saw a dog on the mat
it is in san francisco
san francisco san francisco san francisco
a bird on the mat saw the cat
"""


def build(tmp, *args):
    text = os.path.join(tmp, "text.txt")
    with open(text, "w") as f:
        f.write(TEXT)
    out = os.path.join(tmp, "lm.arpa")
    r = subprocess.run([sys.executable, TOOL, "--text", text, "--out", out] + list(args),
                       capture_output=True, text=True)
    return r, out


def check_sums(lm, histories):
    words = [g[0] for g in lm.p if len(g) == 1 and g[0] != "<s>"]
    for h in histories:
        total = sum(math.exp(lm.score(h, w)) for w in words)
        assert abs(total - 1.0) < 1e-4, (h, total)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        r, out = build(tmp, "--order", "3")
        assert r.returncode == 0, r.stderr
        lm = ref.Arpa(out)
        assert lm.order == 3
        # Upper case by default; <s>, </s>, <unk> present.
        for w in ("THE", "CAT", "<s>", "</s>", "<unk>"):
            assert (w,) in lm.p, w
        histories = [(), ("<s>",), ("THE",), ("<s>", "THE"), ("THE", "CAT"), ("SAN", "FRANCISCO"),
                     ("ZEBRA",), ("ZEBRA", "QUUX"), ("ON", "THE")]
        check_sums(lm, histories)
        # Kneser-Ney: FRANCISCO (4 times, always after SAN) has less unigram mass than CAT (4 times,
        # after THE and after A).
        assert lm.p[("FRANCISCO",)] < lm.p[("CAT",)], (lm.p[("FRANCISCO",)], lm.p[("CAT",)])
        # A seen trigram is more likely than its words in an unseen order.
        assert lm.score(("SAN",), "FRANCISCO") > lm.score(("THE",), "FRANCISCO")
        n3 = sum(1 for g in lm.p if len(g) == 3)

        r, out = build(tmp, "--order", "3", "--prune", "3:2")
        assert r.returncode == 0, r.stderr
        pruned = ref.Arpa(out)
        n3p = sum(1 for g in pruned.p if len(g) == 3)
        assert 0 < n3p < n3, (n3p, n3)
        check_sums(pruned, histories)

        for bad in (["--prune", "1:2"], ["--prune", "x"], ["--order", "9"], ["--prune", "4:2"]):
            r, _ = build(tmp, "--order", "3", *bad)
            assert r.returncode == 2 and "error" in r.stderr, (bad, r.returncode, r.stderr)
    print("ok   build_ngram_lm: sums to 1 (%d histories), KN continuation counts, pruning (%d -> %d "
          "3-grams), argument errors" % (len(histories), n3, n3p))


if __name__ == "__main__":
    main()
