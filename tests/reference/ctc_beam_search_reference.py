#!/usr/bin/env python3
"""Independent reference of lact-asr's lexicon-constrained CTC prefix beam search with a word
n-gram language model (core/decoding/ctc_beam_search.h states the algorithm; this is a plain-Python
re-implementation of that statement, sharing no code with it). Used by the tests to make
fixtures, and to tune lm_weight / word_score on a dev set.

  python3 ctc_beam_search_reference.py --arpa LM.arpa --vocab vocab.json LOGITS.npy...
prints "<file>\t<text>" per logits file ([T, V] float32 .npy, e.g. lact_transcribe --dump_logits).
"""
import argparse
import json
import math
import sys

import numpy as np

NEG = -math.inf


def logaddexp(a, b):
    if a == NEG:
        return b
    if b == NEG:
        return a
    m = max(a, b)
    return m + math.log1p(math.exp(-abs(a - b)))


class Arpa:
    """ARPA back-off model; log10 values converted to natural log."""

    def __init__(self, path):
        self.p = {}
        self.bo = {}
        self.order = 0
        section = 0
        ln10 = math.log(10.0)
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                if line.startswith("\\") and line.endswith("-grams:"):
                    section = int(line[1:line.index("-")])
                    self.order = max(self.order, section)
                    continue
                if line.startswith("\\") or section == 0:
                    continue
                parts = line.split()
                g = tuple(parts[1:1 + section])
                self.p[g] = float(parts[0]) * ln10
                if len(parts) > 1 + section:
                    self.bo[g] = float(parts[1 + section]) * ln10

    def score(self, history, word):
        """ln P(word | history), history a tuple (only its last order-1 words are used)."""
        h = tuple(history[-(self.order - 1):]) if self.order > 1 else ()
        total = 0.0
        while True:
            g = h + (word,)
            if g in self.p:
                return total + self.p[g]
            if not h:
                return total + self.p.get(("<unk>",), -100.0)
            total += self.bo.get(h, 0.0)
            h = h[1:]


class Trie:
    def __init__(self, words, char_id, unigram):
        # node: [children dict char_id -> node, word or None, smear]
        self.nodes = [[{}, None, NEG]]
        for w in words:
            ids = [char_id.get(c) for c in w]
            if not ids or any(i is None for i in ids):
                continue
            n = 0
            path = [0]
            for i in ids:
                nxt = self.nodes[n][0].get(i)
                if nxt is None:
                    nxt = len(self.nodes)
                    self.nodes.append([{}, None, NEG])
                    self.nodes[n][0][i] = nxt
                n = nxt
                path.append(n)
            self.nodes[n][1] = w
            u = unigram(w)
            for k in path[1:]:
                self.nodes[k][2] = max(self.nodes[k][2], u)


def decode(logits, vocab, lm, trie, beam=32, token_threshold=8.0, lm_weight=0.5,
           word_score=1.0):
    id_of = vocab
    blank = id_of["<pad>"]
    delim = id_of["|"]
    special = {id_of[t] for t in ("<s>", "</s>", "<unk>") if t in id_of}
    x = logits.astype(np.float64)
    x = x - x.max(axis=1, keepdims=True)
    logp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    root = 0
    # key: (words tuple, node) -> [pb, pnb, lm_words]
    beams = {((), root): [0.0, NEG, 0.0]}

    def smear(node):
        return 0.0 if node == root else lm_weight * trie.nodes[node][2]

    for t in range(logp.shape[0]):
        lp = logp[t]
        top = lp.max()
        cand = [k for k in range(lp.shape[0]) if lp[k] >= top - token_threshold and k not in special]
        nxt = {}

        def add(key, pb, pnb, lmw):
            e = nxt.get(key)
            if e is None:
                nxt[key] = [pb, pnb, lmw]
            else:
                e[0] = logaddexp(e[0], pb)
                e[1] = logaddexp(e[1], pnb)

        for (words, node), (pb, pnb, lmw) in beams.items():
            tot = logaddexp(pb, pnb)
            for k in cand:
                p = lp[k]
                if k == blank:
                    add((words, node), tot + p, NEG, lmw)
                elif k == delim:
                    if node == root:
                        add((words, node), NEG, tot + p, lmw)
                    elif trie.nodes[node][1] is not None:
                        w = trie.nodes[node][1]
                        s = lmw + lm_weight * lm.score(("<s>",) + words, w) + word_score
                        add((words + (w,), root), NEG, tot + p, s)
                else:
                    child = trie.nodes[node][0].get(k)
                    last = node != root and node_char[node] == k
                    if last:
                        add((words, node), NEG, pnb + p, lmw)
                        if child is not None:
                            add((words, child), NEG, pb + p, lmw)
                    elif child is not None:
                        add((words, child), NEG, tot + p, lmw)
        if not nxt:
            continue
        ranked = sorted(nxt.items(),
                        key=lambda kv: -(logaddexp(kv[1][0], kv[1][1]) + kv[1][2] + smear(kv[0][1])))
        beams = dict(ranked[:beam])

    best, best_words = NEG, next(iter(beams))[0]
    for (words, node), (pb, pnb, lmw) in beams.items():
        s = logaddexp(pb, pnb) + lmw
        if node != root:
            w = trie.nodes[node][1]
            if w is None:
                continue
            s += lm_weight * lm.score(("<s>",) + words, w) + word_score
            words = words + (w,)
        s += lm_weight * lm.score(("<s>",) + words, "</s>")
        if s > best:
            best, best_words = s, words
    return " ".join(best_words)


node_char = None


def setup(arpa_path, vocab_path):
    global node_char
    vocab = json.load(open(vocab_path))
    lm = Arpa(arpa_path)
    chars = {tok: i for tok, i in vocab.items() if len(tok) == 1 and tok != "|"}
    words = sorted(g[0] for g in lm.p if len(g) == 1 and g[0] not in ("<s>", "</s>", "<unk>"))
    trie = Trie(words, chars, lambda w: lm.p[(w,)])
    node_char = [None] * len(trie.nodes)
    for n, node in enumerate(trie.nodes):
        for c, child in node[0].items():
            node_char[child] = c
    return vocab, lm, trie


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arpa", required=True)
    p.add_argument("--vocab", required=True)
    p.add_argument("--beam", type=int, default=32)
    p.add_argument("--lm_weight", type=float, default=0.5)
    p.add_argument("--word_score", type=float, default=1.0)
    p.add_argument("--token_threshold", type=float, default=8.0)
    p.add_argument("logits", nargs="+")
    a = p.parse_args()
    vocab, lm, trie = setup(a.arpa, a.vocab)
    for f in a.logits:
        text = decode(np.load(f), vocab, lm, trie, a.beam, a.token_threshold, a.lm_weight,
                      a.word_score)
        print("%s\t%s" % (f, text), flush=True)


if __name__ == "__main__":
    sys.exit(main())
