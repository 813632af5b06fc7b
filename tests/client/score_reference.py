#!/usr/bin/python3
"""Independent reference for client/scoring.{h,cc}: normalisation, word/char alignment counts.

Writes tests/client/fixtures/score_reference.json, a list of
  {"ref": str, "hyp": str, "ref_norm": str, "hyp_norm": str,
   "words": {"S": int, "D": int, "I": int, "H": int, "N": int},
   "chars": {...same...}}
which tests/client/scoring_test.cc compares with the C++ implementation. The fixture is committed;
regenerate it (standard library only, no difflib) with

  /usr/bin/python3 tests/client/score_reference.py > tests/client/fixtures/score_reference.json

With `--csv results.csv` it instead rescores an lact_eval_client results.csv from its reference
and hypothesis columns and prints, per value of the `lact` column, the corpus rates
  {"off": {"wer": ..., "cer": ..., "word_errors": ..., "words": ..., ...}, "on": {...}}
(the end-to-end test compares them with summary.json).

Method (deliberately different from the C++ code, which keeps one DP row of (errors, subs, dels,
ins) tuples compared lexicographically): a full (n+1) x (m+1) matrix of scalar costs with
substitution = K + 1 and deletion = insertion = K, K larger than any possible number of
substitutions, so the minimum is first the fewest edits, then the fewest substitutions; then a
backtrace from the corner counts S/D/I/H. Normalisation uses regular expressions.
"""

import csv
import json
import random
import re
import sys


def normalize(text):
    text = text.replace("\u2019", "'")
    text = re.sub(r"[-/\u2013\u2014]", " ", text)
    # ASCII letters upper-cased; str.upper() would also touch non-ASCII letters, which the
    # C++ normalisation keeps as they are.
    text = re.sub(r"[a-z]", lambda m: m.group(0).upper(), text)
    # ASCII punctuation other than the apostrophe, and control characters (not whitespace), go.
    text = re.sub(r"[!\"#$%&()*+,.:;<=>?@\[\\\]^_`{|}~]", "", text)
    text = re.sub(r"[\x00-\x08\x0e-\x1f\x7f]", "", text)
    return " ".join(re.split(r"[ \t\n\r\f\v]+", text)).strip(" ")


def align(ref, hyp):
    n, m = len(ref), len(hyp)
    k = max(n, m) + 2
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i * k
    for j in range(m + 1):
        cost[0][j] = j * k
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            diag = cost[i - 1][j - 1] + (0 if ref[i - 1] == hyp[j - 1] else k + 1)
            cost[i][j] = min(diag, cost[i - 1][j] + k, cost[i][j - 1] + k)
    s = d = ins = h = 0
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0:
            same = ref[i - 1] == hyp[j - 1]
            if cost[i][j] == cost[i - 1][j - 1] + (0 if same else k + 1):
                if same:
                    h += 1
                else:
                    s += 1
                i, j = i - 1, j - 1
                continue
        if i > 0 and cost[i][j] == cost[i - 1][j] + k:
            d += 1
            i -= 1
        else:
            ins += 1
            j -= 1
    assert h + s + d == n and h + s + ins == m
    return {"S": s, "D": d, "I": ins, "H": h, "N": n}


def counts(ref, hyp):
    rn, hn = normalize(ref), normalize(hyp)
    return {
        "ref": ref,
        "hyp": hyp,
        "ref_norm": rn,
        "hyp_norm": hn,
        "words": align(rn.split(" ") if rn else [], hn.split(" ") if hn else []),
        "chars": align(list(rn), list(hn)),
    }


LIBRISPEECH = [
    "HE HOPED THERE WOULD BE STEW FOR DINNER TURNIPS AND CARROTS AND BRUISED POTATOES AND FAT "
    "MUTTON PIECES TO BE LADLED OUT IN THICK PEPPERED FLOUR FATTENED SAUCE",
    "STUFF IT INTO YOU HIS BELLY COUNSELLED HIM",
    "HE COULD WAIT NO LONGER",
    "FOR A FULL HOUR HE HAD PACED UP AND DOWN WAITING BUT HE COULD WAIT NO LONGER",
    "THE CHAOS IN WHICH HIS ARDOUR EXTINGUISHED ITSELF WAS A COLD INDIFFERENT KNOWLEDGE OF HIMSELF",
    "I DON'T KNOW WHAT YOU'RE TALKING ABOUT SAID THE MAN'S WIFE",
]

HAND = [
    ("", ""),
    ("", "HELLO"),
    ("", "HELLO WORLD"),
    ("HELLO WORLD", ""),
    ("A", "A"),
    ("A B", "B C"),
    ("A B C D", "A X C D"),
    ("A B C D", "A C D"),
    ("A B C D", "A B Y C D"),
    ("the cat sat", "The cat, sat!"),
    ("Don't stop", "DON'T   STOP"),
    ("it\u2019s well-known", "IT'S WELL KNOWN"),
    ("rock/paper\u2014scissors", "ROCK PAPER SCISSORS"),
    ("  leading and trailing \t\n", "leading and trailing"),
    ("\"Quoted\" (text); here.", "QUOTED TEXT HERE"),
    ("caf\u00e9 na\u00efve", "CAF\u00c9 NAIVE"),
    ("A A A A", "A A"),
    ("A B A B A B", "B A B A B A"),
    ("ONE TWO THREE", "THREE TWO ONE"),
]


def perturb(rng, words, vocab):
    out = []
    for w in words:
        r = rng.random()
        if r < 0.08:
            continue  # deletion
        if r < 0.18:
            out.append(rng.choice(vocab))  # substitution (or an accidental hit)
        elif r < 0.24:
            out.append(w[: max(1, len(w) - 2)])  # a near miss: char-level errors only
        else:
            out.append(w)
        if rng.random() < 0.06:
            out.append(rng.choice(vocab))  # insertion
    return out


def score_csv(path):
    totals = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            c = counts(row["reference"], row["hypothesis"])
            t = totals.setdefault(row["lact"], {"word_errors": 0, "words": 0, "char_errors": 0,
                                                "chars": 0, "utterances": 0})
            w, ch = c["words"], c["chars"]
            t["word_errors"] += w["S"] + w["D"] + w["I"]
            t["words"] += w["N"]
            t["char_errors"] += ch["S"] + ch["D"] + ch["I"]
            t["chars"] += ch["N"]
            t["utterances"] += 1
    for t in totals.values():
        t["wer"] = t["word_errors"] / t["words"] if t["words"] else float(t["word_errors"])
        t["cer"] = t["char_errors"] / t["chars"] if t["chars"] else float(t["char_errors"])
    json.dump(totals, sys.stdout, indent=1)
    sys.stdout.write("\n")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--csv":
        score_csv(sys.argv[2])
        return
    rng = random.Random(20240501)
    vocab = sorted({w for s in LIBRISPEECH for w in s.split()})
    pairs = list(HAND)
    for s in LIBRISPEECH:
        pairs.append((s, s))
        pairs.append((s, s.lower()))
        for _ in range(4):
            pairs.append((s, " ".join(perturb(rng, s.split(), vocab))))
    for _ in range(20):
        ref = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
        hyp = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
        pairs.append((" ".join(ref), " ".join(hyp)))
    json.dump([counts(r, h) for r, h in pairs], sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
