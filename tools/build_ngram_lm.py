#!/usr/bin/env python3
"""Builds a word n-gram language model (ARPA text format) from a text corpus.

Interpolated modified Kneser-Ney smoothing (Chen & Goodman 1998, as KenLM's lmplz), with
sentence boundaries <s> and </s> and an <unk> entry, so the output can be read by lact-asr's
CTC beam search decoder (core/decoding/ngram_lm.h), KenLM and any other ARPA reader.

Input: one sentence per line (case is folded to upper case, as in the wav2vec2 English vocab;
whitespace splits words). Example, the training sentences of the synthetic corpus:
  python3 tools/make_synthetic_corpus.py --out data/demo --text_out data/demo/train_text.txt
  python3 tools/build_ngram_lm.py --text data/demo/train_text.txt --order 3 \
      --out models/demo/language_model/lm.arpa
Only the Python standard library is needed.
"""
import argparse
import collections
import math
import sys

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


def read_sentences(paths, lowercase=False):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                words = line.split()
                if words:
                    yield [w.lower() if lowercase else w.upper() for w in words]


def count_ngrams(sentences, order):
    """counts[n][ngram tuple] = raw count, n = 1..order (<s> padded once at the start)."""
    counts = [None] + [collections.Counter() for _ in range(order)]
    for words in sentences:
        seq = [BOS] + words + [EOS]
        for n in range(1, order + 1):
            c = counts[n]
            for i in range(max(0, 1 if n == 1 else 0), len(seq) - n + 1):
                c[tuple(seq[i:i + n])] += 1
    counts[1].pop((BOS,), None)
    return counts


def adjusted_counts(counts, order):
    """Kneser-Ney counts: the highest order and n-grams starting with <s> keep their raw counts;
    the others count their distinct left extensions."""
    adj = [None] * (order + 1)
    adj[order] = counts[order]
    for n in range(order - 1, 0, -1):
        a = collections.Counter()
        for ngram in counts[n + 1]:
            a[ngram[1:]] += 1
        for ngram, c in counts[n].items():
            if ngram[0] == BOS:
                a[ngram] = c
        adj[n] = a
    return adj


def discounts(adj_n):
    """Modified KN discounts D1, D2, D3+ from the count-of-counts of one order."""
    coc = collections.Counter(min(c, 4) for c in adj_n.values())
    n1, n2, n3, n4 = (coc.get(k, 0) for k in (1, 2, 3, 4))
    if min(n1, n2, n3, n4) == 0:  # tiny corpora: a plain absolute discount
        return (0.5, 0.5, 0.5)
    y = n1 / (n1 + 2.0 * n2)
    d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    return tuple(min(max(x, 0.05), k) for x, k in zip(d, (1, 2, 3)))


def build(counts, order, min_count=None):
    """ARPA tables. min_count[n]: n-grams (n >= 2) seen fewer times (raw count) are pruned: not
    written, their probability mass moves to their context's back-off weight."""
    min_count = min_count or {}
    adj = adjusted_counts(counts, order)
    disc = [None] + [discounts(adj[n]) for n in range(1, order + 1)]
    # Context statistics per order: total count and the number of followers with count 1, 2, 3+.
    probs = [None] + [dict() for _ in range(order)]
    backoff = [None] + [dict() for _ in range(order)]
    vocab = sorted({g[0] for g in adj[1]} | {UNK})
    # Unigrams: discounted, interpolated with the uniform distribution over the vocabulary.
    total = float(sum(adj[1].values()))
    d = disc[1]
    mass = sum(d[min(c, 3) - 1] for c in adj[1].values())
    for w in vocab:
        c = adj[1].get((w,), 0)
        p = (max(c - d[min(c, 3) - 1], 0) if c else 0) / total + (mass / total) / len(vocab)
        probs[1][(w,)] = p
    probs[1][(BOS,)] = 0.0
    for n in range(2, order + 1):
        d = disc[n]
        ctx_total = collections.Counter()
        ctx_mass = collections.Counter()
        keep = min_count.get(n, 1)
        for g, c in adj[n].items():
            ctx_total[g[:-1]] += c
            pruned = counts[n][g] < keep
            ctx_mass[g[:-1]] += c if pruned else d[min(c, 3) - 1]
        for h, t in ctx_total.items():
            backoff[n - 1][h] = ctx_mass[h] / t
        for g, c in adj[n].items():
            if counts[n][g] < keep:
                continue
            h = g[:-1]
            lower = prob_of(probs, backoff, g[1:])
            probs[n][g] = (c - d[min(c, 3) - 1]) / ctx_total[h] + backoff[n - 1][h] * lower
    return probs, backoff


def prob_of(probs, backoff, g):
    """P(g[-1] | g[:-1]) with ARPA back-off, from the tables built so far."""
    n = len(g)
    if g in probs[n]:
        return probs[n][g]
    if n == 1:
        return probs[1][(UNK,)]
    return backoff[n - 1].get(g[:-1], 1.0) * prob_of(probs, backoff, g[1:])


def write_arpa(probs, backoff, order, out):
    def log10(p):
        return -99.0 if p <= 0 else math.log10(p)
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n\\data\\\n")
        for n in range(1, order + 1):
            f.write("ngram %d=%d\n" % (n, len(probs[n])))
        for n in range(1, order + 1):
            f.write("\n\\%d-grams:\n" % n)
            for g in sorted(probs[n]):
                line = "%.6f\t%s" % (log10(probs[n][g]), " ".join(g))
                if n < order:
                    bo = backoff[n].get(g)
                    if bo is not None:
                        line += "\t%.6f" % log10(bo)
                f.write(line + "\n")
        f.write("\n\\end\\\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--text", action="append", required=True,
                   help="text file, one sentence per line (repeatable)")
    p.add_argument("--order", type=int, default=3, help="n-gram order (default 3)")
    p.add_argument("--out", required=True, help="output ARPA file")
    p.add_argument("--prune", default="",
                   help="count cutoffs 'N:K,...': drop N-grams (N >= 2) seen fewer than K times "
                        "(their mass goes to the back-off weight), e.g. 3:2 (smaller file)")
    p.add_argument("--lowercase", action="store_true", help="fold to lower case (default: upper)")
    args = p.parse_args(argv)
    if not 1 <= args.order <= 6:
        p.error("--order must be 1..6")
    counts = count_ngrams(read_sentences(args.text, args.lowercase), args.order)
    if not counts[1]:
        p.error("no words in %s" % ", ".join(args.text))
    try:
        min_count = {int(k): int(v) for k, v in (x.split(":") for x in args.prune.split(",") if x)}
    except ValueError:
        p.error("--prune: expected N:K,... (e.g. 3:2)")
    if any(n < 2 or n > args.order or k < 1 for n, k in min_count.items()):
        p.error("--prune: N must be 2..order and K >= 1")
    probs, backoff = build(counts, args.order, min_count)
    write_arpa(probs, backoff, args.order, args.out)
    print("wrote %s: order %d, %s" % (args.out, args.order, ", ".join(
        "%d-grams %d" % (n, len(probs[n])) for n in range(1, args.order + 1))), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
