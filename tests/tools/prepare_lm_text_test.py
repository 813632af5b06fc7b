#!/usr/bin/env python3
"""tools/prepare_lm_text.py on hand-made text (source 'text', so no Debian package is needed):
normalisation to the wav2vec2 spelling (upper case, letters and inner apostrophes, lines with
digits dropped, length bounds), duplicates written once, held-out sentences kept out (equal,
sharing an 8-word run, or a short held-out sentence whose words a line holds), the vocabulary
(words seen --min_count times plus the word list), and an unknown source refused.
Run: python3 tests/tools/prepare_lm_text_test.py (LACT_SRC = repository root)."""
import os
import subprocess
import sys
import tempfile

SRC = os.environ.get("LACT_SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
TOOL = os.path.join(SRC, "tools", "prepare_lm_text.py")

TEXT = """The cat's toy was under the old red chair.
the cat's toy was under the old red chair
He paid 20 dollars for it.
Hi there
"Quoted," she said -- and left; the 'door' stayed open.
one two three four five six seven eight nine ten eleven
zero one two three four five six seven eight nine ten twelve
my dog likes the garden very much
the garden my dog likes so very much indeed
"""
HELD_OUT = """# comment
two three four five six seven eight nine
dog garden likes
"""


def run(*args):
    return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "text.txt")
        held = os.path.join(tmp, "held.txt")
        words = os.path.join(tmp, "words.txt")
        out = os.path.join(tmp, "out.txt")
        vocab = os.path.join(tmp, "vocab.txt")
        open(text, "w").write(TEXT)
        open(held, "w").write(HELD_OUT)
        open(words, "w").write("Zebra\nrock'n'roll\nx-ray\n")
        r = run("--out", out, "--sources", "text", "--text", text, "--exclude", held,
                "--vocab_out", vocab, "--min_count", "2", "--wordlist", words)
        assert r.returncode == 0, r.stderr
        lines = open(out).read().splitlines()
        assert lines == [
            "THE CAT'S TOY WAS UNDER THE OLD RED CHAIR",     # once, though given twice
            "QUOTED SHE SAID AND LEFT THE DOOR STAYED OPEN",  # quotes and punctuation gone
        ], lines
        # Dropped: digits ("20"), too short ("Hi there"), an 8-word run of a held-out sentence
        # (both counting lines), all the words of a short held-out sentence (both garden lines).
        assert "excluded         4" in r.stderr, r.stderr
        v = open(vocab).read().split()
        assert v == sorted(v)
        assert {"THE", "ZEBRA", "ROCK'N'ROLL"} <= set(v), v  # THE twice; the list's words
        assert "CAT'S" not in v and "CHAIR" not in v, v      # once only (the duplicate is not text)
        assert "X" not in v and "RAY" not in v, v            # "x-ray" is two words: not a word
        bad = run("--out", out, "--sources", "text,novels")
        assert bad.returncode == 2 and "unknown source 'novels'" in bad.stderr, bad.stderr
    print("prepare_lm_text_test: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
