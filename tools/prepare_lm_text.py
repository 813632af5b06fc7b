#!/usr/bin/env python3
"""Text for a general-English word n-gram LM from free text that Debian packages ship (issue 21):
several sources, not one author, normalised to the wav2vec2 English vocabulary (upper case,
letters and the apostrophe), one sentence per line, with held-out sentences kept out.

  apt-get install wordnet-base fortunes wamerican-large dict-gcide     # the sources
  /usr/bin/python3 tools/prepare_lm_text.py --out data/general_lm.txt \\
      --exclude tools/data/boost/plain_sentences.txt --exclude data/demo/test --vocab_out V.txt
  /usr/bin/python3 tools/build_ngram_lm.py --text data/general_lm.txt --order 3 --out lm.arpa

Sources (each used when present; --sources picks):
  wordnet   WordNet 3.0 (wordnet-base): the glosses' usage examples (modern everyday sentences)
            and definitions, /usr/share/wordnet/data.{noun,verb,adj,adv}
  fortunes  fortune-mod's collections (fortunes): quotations, jokes, proverbs, not offensive/
  gcide     the GNU Collaborative International Dictionary of English (dict-gcide): definitions
            and their quotations (Webster 1913 and later; older English)
  text      --text FILE...: any one-sentence-per-line text (e.g. the demo's Austen sentences)
Exclusion: a sentence whose normalised words equal, or contain all the words of, a held-out
sentence (--exclude: a text file, or a LibriSpeech-layout folder whose *.trans.txt are read) is
dropped; so is any sentence sharing an 8-word run with one.
--vocab_out: the words of the text seen at least --min_count times plus the word list
(--wordlist, default /usr/share/dict/american-english-large from wamerican-large) in the same
spelling, one per line
(the lexicon, language_model/unigrams.txt).
Prints per-source sentence and word counts to stderr.
"""
import argparse
import glob
import gzip
import os
import re
import sys
from collections import Counter

WORDNET = "/usr/share/wordnet"
FORTUNES = "/usr/share/games/fortunes"
GCIDE = "/usr/share/dictd/gcide.dict.dz"
WORDLIST = "/usr/share/dict/american-english-large"
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
NOT_LETTER = re.compile(r"[^A-Z']+")


def normalize(text):
    """Upper-case words of letters and inner apostrophes; None for a line with digits."""
    if re.search(r"\d", text):
        return None
    text = text.upper().replace("\u2019", "'")
    words = [w.strip("'") for w in NOT_LETTER.sub(" ", text).split()]
    return [w for w in words if w]


def sentences(text, min_words, max_words):
    for s in SENTENCE_END.split(text):
        words = normalize(s)
        if words and min_words <= len(words) <= max_words:
            yield words


def wordnet(min_words, max_words):
    for pos in ("noun", "verb", "adj", "adv"):
        path = os.path.join(WORDNET, "data." + pos)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue
                for part in line.split("|", 1)[1].split(";"):
                    part = part.strip().strip('"')
                    yield from sentences(part, min_words, max_words)


def fortunes(min_words, max_words):
    for path in sorted(glob.glob(os.path.join(FORTUNES, "*"))):
        if os.path.isdir(path) or path.endswith((".dat", ".u8")):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for entry in f.read().split("\n%\n"):
                body = "\n".join(l for l in entry.splitlines() if not l.strip().startswith("--"))
                yield from sentences(" ".join(body.split()), min_words, max_words)


def gcide(min_words, max_words):
    if not os.path.exists(GCIDE):
        return
    with gzip.open(GCIDE, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            line = re.sub(r"<[^>]*>|\[[^\]]*\]|\{[^}]*\}", " ", line)
            yield from sentences(" ".join(line.split()), min_words, max_words)


def text_files(paths, min_words, max_words):
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                words = normalize(line)
                if words and min_words <= len(words) <= max_words:
                    yield words


def held_out(paths):
    """The normalised held-out sentences of text files and LibriSpeech-layout folders."""
    out = []
    for path in paths:
        files = sorted(glob.glob(os.path.join(path, "**", "*.trans.txt"), recursive=True)) \
            if os.path.isdir(path) else [path]
        for name in files:
            with open(name, encoding="utf-8") as f:
                for line in f:
                    if line.startswith("#") or not line.strip():
                        continue
                    if name.endswith(".trans.txt"):
                        line = line.split(" ", 1)[1] if " " in line else ""
                    words = normalize(line)
                    if words:
                        out.append(words)
    return out


class Excluder:
    def __init__(self, held, run=8):
        self.exact = {tuple(w) for w in held}
        self.run = run
        self.runs = {tuple(w[i:i + run]) for w in held for i in range(len(w) - run + 1)}
        self.short = [set(w) for w in held if len(w) < run]
        self.dropped = 0

    def keep(self, words):
        t = tuple(words)
        bad = t in self.exact or any(t[i:i + self.run] in self.runs
                                     for i in range(len(t) - self.run + 1))
        if not bad and len(words) >= 3:
            s = set(words)
            bad = any(h <= s and len(h) >= 3 for h in self.short if len(h) <= len(s))
        self.dropped += bad
        return not bad


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="output text, one sentence per line")
    p.add_argument("--sources", default="wordnet,fortunes,gcide,text")
    p.add_argument("--text", action="append", default=[], help="extra text file (source 'text')")
    p.add_argument("--exclude", action="append", default=[], help="held-out sentences")
    p.add_argument("--min_words", type=int, default=3)
    p.add_argument("--max_words", type=int, default=40)
    p.add_argument("--vocab_out", default="")
    p.add_argument("--min_count", type=int, default=2, help="text words kept in --vocab_out")
    p.add_argument("--wordlist", default=WORDLIST, help="word list joined to --vocab_out")
    a = p.parse_args()
    readers = {"wordnet": lambda: wordnet(a.min_words, a.max_words),
               "fortunes": lambda: fortunes(a.min_words, a.max_words),
               "gcide": lambda: gcide(a.min_words, a.max_words),
               "text": lambda: text_files(a.text, a.min_words, a.max_words)}
    chosen = [s for s in a.sources.split(",") if s]
    for s in chosen:
        if s not in readers:
            p.error("unknown source '%s' (wordnet, fortunes, gcide, text)" % s)
    excluder = Excluder(held_out(a.exclude))
    counts = Counter()
    seen = set()
    with open(a.out, "w", encoding="utf-8") as out:
        for source in chosen:
            n_sentences = n_words = 0
            for words in readers[source]():
                t = tuple(words)
                if t in seen or not excluder.keep(words):
                    continue
                seen.add(t)
                out.write(" ".join(words) + "\n")
                counts.update(words)
                n_sentences += 1
                n_words += len(words)
            print("%-9s %8d sentences %9d words" % (source, n_sentences, n_words), file=sys.stderr)
    print("excluded  %8d sentences (held out)" % excluder.dropped, file=sys.stderr)
    if a.vocab_out:
        vocab = {w for w, c in counts.items() if c >= a.min_count}
        if os.path.exists(a.wordlist):
            with open(a.wordlist, encoding="utf-8", errors="replace") as f:
                for line in f:
                    words = normalize(line)
                    if words and len(words) == 1:
                        vocab.add(words[0])
        with open(a.vocab_out, "w", encoding="utf-8") as f:
            f.write("\n".join(sorted(vocab)) + "\n")
        print("vocabulary %d words" % len(vocab), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
