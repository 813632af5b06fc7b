#!/usr/bin/env python3
"""Independent reference of lact-asr's CTC prefix beam search over words: lexicon-constrained
with a word n-gram language model, open vocabulary at a penalty, lexicon-free without an LM, and
per-stream phrase boosting (core/decoding/ctc_beam_search.h and phrase_boost.h state the
algorithm; this is a plain-Python re-implementation of those statements, sharing no code with
them: hypotheses are keyed by their text and the boost is recomputed from the text each time). Used by the tests to make
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

    def score_word(self, history, word):
        """score(), except that a word the LM does not list is ln p(<unk>) (no history)."""
        if (word,) not in self.p:
            return self.p.get(("<unk>",), -100.0)
        return self.score(history, word)

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
        self.prefix = {"": 0}  # partial word text -> node
        self.words = set()
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
            self.words.add(w)
            for i in range(len(w) + 1):
                self.prefix[w[:i]] = path[i]
            u = unigram(w)
            for k in path[1:]:
                self.nodes[k][2] = max(self.nodes[k][2], u)


def token_of(vocab):
    """One-character text tokens by character (as the lexicon and the phrase boost spell)."""
    return {tok: i for tok, i in vocab.items() if len(tok) == 1 and tok != "|"}


def normalize_phrase(text, chars):
    """A boost phrase in the vocabulary's spelling: each character as written, else upper-cased,
    else lower-cased; words split on spaces. None when a character cannot be spelled."""
    words = []
    for word in text.split():
        out = ""
        for c in word:
            for v in (c, c.upper(), c.lower()):
                if v in chars:
                    out += v
                    break
            else:
                return None
        words.append(out)
    return words


class Boost:
    """bonus(text) of core/decoding/phrase_boost.h, computed from scratch for each text: every
    occurrence of each pattern "|w1|...|wn|" adds its boost; the longest suffix of the text that
    is a prefix of some pattern adds the pattern's prorated share."""

    def __init__(self, phrases, chars):
        self.patterns = []
        self.words = set()
        for text, b in phrases:
            words = normalize_phrase(text, chars)
            self.patterns.append(("|" + "|".join(words) + "|", b))
            self.words.update(words)
        self.word_prefixes = {w[:i] for w in self.words for i in range(len(w) + 1)}

    def bonus(self, text):
        total = 0.0
        for pat, b in self.patterns:
            total += b * sum(1 for i in range(len(text)) if text.startswith(pat, i))
        for start in range(len(text) + 1):
            suffix = text[start:]
            if any(pat.startswith(suffix) for pat, _ in self.patterns):
                break
        best = None
        if suffix:
            for pat, b in self.patterns:
                if len(suffix) < len(pat) and pat.startswith(suffix):
                    share = b * (len(suffix) - 1) / (len(pat) - 1)
                    if best is None or abs(share) > abs(best) or (abs(share) == abs(best)
                                                                   and share > best):
                        best = share
        return total + (best or 0.0)


def decode(logits, vocab, lm, trie, beam=32, token_threshold=8.0, lm_weight=0.5,
           word_score=1.0, unk_penalty=math.inf, phrases=()):
    """The transcript of logits [T, V]. lm/trie None: no LM, lexicon-free. unk_penalty finite:
    open vocabulary. phrases: [(text, boost)] for phrase boosting."""
    id_of = vocab
    text_of = {i: t for t, i in vocab.items()}
    blank = id_of["<pad>"]
    delim = id_of["|"]
    special = {id_of[t] for t in ("<s>", "</s>", "<unk>") if t in id_of}
    boost = Boost(phrases, token_of(vocab)) if phrases else None
    open_vocab = lm is None or math.isfinite(unk_penalty)
    unk_u = lm_weight * lm.p.get(("<unk>",), -100.0) if lm is not None else 0.0
    x = logits.astype(np.float64)
    x = x - x.max(axis=1, keepdims=True)
    logp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    # key: (words tuple, partial text) -> [pb, pnb, lm_words]

    def in_lex(partial):
        return trie is not None and partial in trie.prefix

    def in_overlay(partial):
        return boost is not None and partial in boost.word_prefixes

    def allowed(partial):
        return in_lex(partial) or in_overlay(partial) or open_vocab

    def word_score_of(words, w):
        """lm gain of completing w after words, or None when w may not end."""
        if lm is None:
            return word_score
        known = (trie is not None and w in trie.words) or (boost is not None and w in boost.words)
        if known:
            return lm_weight * lm.score_word(("<s>",) + words, w) + word_score
        if open_vocab:
            return word_score - unk_penalty * len(w)  # spelled out: per character, no LM
        return None

    def text(words, partial):
        return "|" + "".join(w + "|" for w in words) + partial

    def rank(key, v):
        words, partial = key
        smear = 0.0
        if partial and lm is not None:
            opts = []
            if in_lex(partial):
                opts.append(lm_weight * trie.nodes[trie.prefix[partial]][2])
            if in_overlay(partial):
                opts.append(unk_u)
            if open_vocab:
                opts.append(-unk_penalty * len(partial))
            smear = max(opts)
        b = boost.bonus(text(words, partial)) if boost else 0.0
        return logaddexp(v[0], v[1]) + v[2] + b + smear

    beams = {((), ""): [0.0, NEG, 0.0]}
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

        for (words, partial), (pb, pnb, lmw) in beams.items():
            tot = logaddexp(pb, pnb)
            for k in cand:
                p = lp[k]
                if k == blank:
                    add((words, partial), tot + p, NEG, lmw)
                elif k == delim:
                    if not partial:
                        add((words, partial), NEG, tot + p, lmw)
                    else:
                        g = word_score_of(words, partial)
                        if g is not None:
                            add((words + (partial,), ""), NEG, tot + p, lmw + g)
                else:
                    longer = partial + text_of[k]
                    if partial and partial[-1] == text_of[k]:
                        add((words, partial), NEG, pnb + p, lmw)
                        if allowed(longer):
                            add((words, longer), NEG, pb + p, lmw)
                    elif allowed(longer):
                        add((words, longer), NEG, tot + p, lmw)
        if not nxt:
            continue
        ranked = sorted(nxt.items(), key=lambda kv: -rank(kv[0], kv[1]))
        beams = dict(ranked[:beam])

    best, best_words = NEG, next(iter(beams))[0]
    for (words, partial), (pb, pnb, lmw) in beams.items():
        s = logaddexp(pb, pnb) + lmw
        if partial:
            g = word_score_of(words, partial)
            if g is None:
                continue
            s += g
            words = words + (partial,)
        if boost:
            s += boost.bonus(text(words, ""))
        if lm is not None:
            s += lm_weight * lm.score(("<s>",) + words, "</s>")
        if s > best:
            best, best_words = s, words
    return " ".join(best_words)


def setup(arpa_path, vocab_path):
    vocab = json.load(open(vocab_path))
    lm = Arpa(arpa_path)
    chars = {tok: i for tok, i in vocab.items() if len(tok) == 1 and tok != "|"}
    words = sorted(g[0] for g in lm.p if len(g) == 1 and g[0] not in ("<s>", "</s>", "<unk>"))
    trie = Trie(words, chars, lambda w: lm.p[(w,)])
    return vocab, lm, trie


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arpa", required=True)
    p.add_argument("--vocab", required=True)
    p.add_argument("--beam", type=int, default=32)
    p.add_argument("--lm_weight", type=float, default=0.5)
    p.add_argument("--word_score", type=float, default=1.0)
    p.add_argument("--token_threshold", type=float, default=8.0)
    p.add_argument("--unk_penalty", type=float, default=math.inf)
    p.add_argument("--no_lm", action="store_true", help="lexicon-free, no LM (--arpa unused)")
    p.add_argument("--boost", action="append", default=[], help="PHRASE:BOOST, repeatable")
    p.add_argument("logits", nargs="+")
    a = p.parse_args()
    vocab, lm, trie = setup(a.arpa, a.vocab)
    if a.no_lm:
        lm, trie = None, None
    phrases = [(b.rsplit(":", 1)[0], float(b.rsplit(":", 1)[1])) for b in a.boost]
    for f in a.logits:
        text = decode(np.load(f), vocab, lm, trie, a.beam, a.token_threshold, a.lm_weight,
                      a.word_score, a.unk_penalty, phrases)
        print("%s\t%s" % (f, text), flush=True)


if __name__ == "__main__":
    sys.exit(main())
