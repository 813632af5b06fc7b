#!/usr/bin/python3
"""Synthetic speech corpus in the LibriSpeech layout: espeak-ng voices reading Jane Austen.

Sentences come from the six Jane Austen novels shipped by the Debian package r-cran-janeaustenr
(the novels are public domain; the package is MIT), or from plain-text files (--text_file).
They are normalised to the wav2vec2 character vocabulary (A-Z, apostrophe, space), spoken by
espeak-ng and post-processed by sox (speed/pitch perturbation, reverb, band-limiting,
resampling to 16 kHz mono) and numpy (level, additive noise), then written as 16-bit FLAC:

  <out>/<split>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac
  <out>/<split>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt   ("<utt-id> <TRANSCRIPT>")
  <out>/<split>.speakers.tsv, <out>/<split>.chapters.tsv, <out>/<split>.info.json

A "speaker" is one voice setting: espeak-ng accent + variant, words per minute, pitch, word gap,
and a perturbation profile (sox speed/pitch, reverb, band limit, noise type and SNR, level).
Sentences are disjoint across train/dev/test, and so are the (accent, variant) pairs of the
speakers of each split; both partitions depend only on --partition_seed (default 0), so corpora
made with different --seed values (e.g. a --long_form test set) stay disjoint from a train set.

--long_form makes test streams instead: chapters of one speaker, minutes long, made of
consecutive sentences, whose perturbations drift slowly across the chapter (speaking rate,
pitch shift, noise SNR, low-pass cut-off, level).

See docs/synthetic_corpus.md. Standard library + numpy; needs espeak-ng and sox on PATH.
"""

import argparse
import concurrent.futures
import gzip
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
import unicodedata
import zlib

import numpy as np

SAMPLE_RATE = 16000
SPLITS = ("train", "dev", "test")
SPLIT_INDEX = {"train": 0, "dev": 1, "test": 2}
# Speaker ids: train 1000.., dev 7000.., test 8000.. (chapter = speaker * 100 + index).
SPEAKER_BASE = {"train": 1000, "dev": 7000, "test": 8000}
SPEAKER_LIMIT = {"train": 6000, "dev": 1000, "test": 1000}

JANEAUSTENR_DIR = "/usr/lib/R/site-library/janeaustenr/data"
JANEAUSTENR_BOOKS = ("sensesensibility", "prideprejudice", "mansfieldpark", "emma",
                     "northangerabbey", "persuasion")

# espeak-ng English accents (its own voices; the mbrola ones need non-free data).
ACCENTS = ("en", "en-us", "en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-gb-x-rp", "en-us-nyc")
# espeak-ng voice variants (files in espeak-ng-data/voices/!v), "" = the accent's own voice.
# Left out: the ones meant as effects (Demonic, announcer, whisper, whisperf, croak, robosoft*,
# UniRobot, anikaRobot, RicishayMax* (heavy echo), Tweaky, kaukovalta, "Mr serious") and
# "fast" (marked unstable by espeak-ng).
VARIANTS = (
    "", "Alex", "Alicia", "Andrea", "Andy", "Annie", "AnxiousAndy", "Denis", "Diogo", "Gene",
    "Gene2", "Henrique", "Hugo", "Jacky", "Lee", "Marco", "Mario", "Michael", "Mike", "Nguyen",
    "Storm", "adam", "anika", "antonio", "aunty", "belinda", "benjamin", "boris", "caleb", "david",
    "ed", "edward", "edward2", "f1", "f2", "f3", "f4", "f5", "grandma", "grandpa", "gustave",
    "iven",
    "iven2", "iven3", "iven4", "john", "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6",
    "linda", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "marcelo", "max", "michel", "miguel",
    "norbert", "pablo", "paul", "pedro", "quincy", "rob", "robert", "sandro", "shelby", "steph",
    "steph2", "steph3", "travis", "victor", "zac")

NOISE_TYPES = ("white", "pink", "brown", "hum")
BLOCK = 32            # consecutive sentences that go to the same split together
PARTITION_VERSION = 1  # bump when the text or speaker partition rules change

# ---------------------------------------------------------------------------------------------
# Reading the R data files of r-cran-janeaustenr (R's XDR serialization, lazy-load database).


class _RReader:
    """The subset of R's unserialize() needed for character vectors and named lists."""

    def __init__(self, data):
        self.b = data
        self.p = 0
        self.refs = []

    def int(self):
        v = struct.unpack_from(">i", self.b, self.p)[0]
        self.p += 4
        return v

    def item(self):
        flags = self.int()
        kind = flags & 0xFF
        has_attr = flags & (1 << 9)
        has_tag = flags & (1 << 10)
        if kind == 254:                      # NILVALUE
            return None
        if kind == 255:                      # REFSXP
            return self.refs[(flags >> 8) - 1]
        if kind in (253, 252, 251, 250, 242, 241):  # environments, missing arg, ...
            return None
        if kind == 1:                        # SYMSXP
            v = ("sym", self.item())
            self.refs.append(v)
            return v
        if kind in (2, 6, 239, 240):         # pairlists
            if has_attr:
                self.item()
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            out = [(tag[1] if tag else None, car)]
            if isinstance(cdr, list):
                out += cdr
            return out
        if kind == 9:                        # CHARSXP
            n = self.int()
            if n == -1:
                return None
            v = self.b[self.p:self.p + n].decode("utf-8", "replace")
            self.p += n
            return v
        if kind in (10, 13, 14, 16, 19, 20):
            n = self.int()
            if kind in (10, 13):
                v = list(struct.unpack_from(">%di" % n, self.b, self.p))
                self.p += 4 * n
            elif kind == 14:
                v = list(struct.unpack_from(">%dd" % n, self.b, self.p))
                self.p += 8 * n
            else:
                v = [self.item() for _ in range(n)]
            if has_attr:
                attrs = dict(self.item() or [])
                names = attrs.get("names")
                if names and kind == 19:
                    return dict(zip(names, v))
            return v
        raise ValueError("unsupported R object type %d at byte %d" % (kind, self.p))


def _r_unserialize(data):
    if data[:2] != b"X\n":
        raise ValueError("not an R XDR serialization")
    r = _RReader(data)
    r.p = 2
    version = r.int()
    r.int()
    r.int()
    if version == 3:
        n = r.int()                          # native encoding name
        r.p += n
    return r.item()


def _r_decompress(blob):
    # R lazy-load entries: 4-byte big-endian length, then zlib, or a type byte and bzip2/xz.
    body = blob[4:]
    if body[:1] in (b"Z", b"2", b"X", b"0"):
        tag, body = body[:1], body[1:]
        if tag == b"0":
            return body
        if tag == b"2":
            import bz2
            return bz2.decompress(body)
        if tag == b"X":
            import lzma
            return lzma.decompress(body)
    return zlib.decompress(body)


def load_janeaustenr(data_dir):
    """[(book, [line, ...])] from r-cran-janeaustenr's Rdata.rdb/.rdx."""
    with open(os.path.join(data_dir, "Rdata.rdx"), "rb") as f:
        index = _r_unserialize(gzip.decompress(f.read()))
    with open(os.path.join(data_dir, "Rdata.rdb"), "rb") as f:
        rdb = f.read()
    books = []
    for name in JANEAUSTENR_BOOKS:
        off, length = (int(x) for x in index["variables"][name])
        lines = _r_unserialize(_r_decompress(rdb[off:off + length]))
        books.append((name, [x or "" for x in lines]))
    return books


def load_text_files(paths):
    books = []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            books.append((os.path.basename(path), f.read().splitlines()))
    return books


# ---------------------------------------------------------------------------------------------
# Text normalisation.

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
            "nine": "ninth", "twelve": "twelfth"}


def number_words(n):
    """British-style cardinal: 121 -> 'one hundred and twenty one' (0 <= n < 10**9)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    for div, word in ((10**6, "million"), (1000, "thousand")):
        if n >= div:
            rest = n % div
            head = number_words(n // div) + " " + word
            if rest == 0:
                return head
            return head + (" and " if rest < 100 else " ") + number_words(rest)
    raise ValueError(n)


def ordinal_words(n):
    words = number_words(n).split()
    last = words[-1]
    if last in _ORDINAL:
        words[-1] = _ORDINAL[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


_ABBREVIATIONS = {
    "Mr": "Mister", "Mrs": "Missus", "Dr": "Doctor", "St": "Saint", "Esq": "Esquire",
    "Rev": "Reverend", "Col": "Colonel", "Capt": "Captain", "Gen": "General", "Lieut": "Lieutenant",
    "Sept": "September", "Oct": "October", "Nov": "November", "Dec": "December", "Jan": "January",
    "Feb": "February", "Aug": "August", "Messrs": "Messieurs", "Bart": "Baronet",
}
# "Mr." anywhere; "Mr" without the full stop only before a capitalised word.
_ABBREV_RE = re.compile(r"\b(%s)\.(?=\s|$|[,;:])|\b(Mr|Mrs)\b(?!')|\b(Dr|St)(?=\s+(?:[A-Z]|and\b))"
                         % "|".join(_ABBREVIATIONS))
_NUMBER_RE = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)?(?![\w]|[.,]\d)")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")
_STRONG_BREAK_RE = re.compile(r"(?<=[;:])\s+|\s+--\s+")
_COMMA_BREAK_RE = re.compile(r"(?<=,)\s+")
_SPOKEN_OK_RE = re.compile(r"^[A-Za-z',.;:!? ]+$")
_LOWER_RE = re.compile(r"[a-z]")
_HEADING_RE = re.compile(r"^(chapter|volume|book|vol\.|the end|finis|end of)\b", re.IGNORECASE)


def year_words(n):
    """1811 -> 'eighteen eleven', 1800 -> 'eighteen hundred', 1805 -> 'eighteen oh five'."""
    head, tail = divmod(n, 100)
    if tail == 0:
        return number_words(head) + " hundred"
    return number_words(head) + (" oh " if tail < 10 else " ") + number_words(tail)


def _spell_number(m):
    digits, suffix = m.group(1), m.group(2)
    n = int(digits.replace(",", ""))
    if n >= 10**9:
        return m.group(0)                              # left as digits: the chunk is dropped
    if suffix:
        return ordinal_words(n)
    if len(digits) == 4 and 1100 <= n <= 1999:         # a year
        return year_words(n)
    return number_words(n)


_DIGIT_RE = re.compile(r"\d")
_DASHES_RE = re.compile(r"\s*-{2,}\s*")
_WORD_HYPHEN_RE = re.compile(r"(?<=[A-Za-z])-(?=[A-Za-z])")
_ROMAN_WORD_RE = re.compile(r"\b[IVXLC]{2,}\b")
_CAPS_WORD_RE = re.compile(r"\b[A-Z]{2,}\b")
_PUNCT_RUN_RE = re.compile(r"([,;:.!?])(?:\s*[,;:])+")
_SPACE_PUNCT_RE = re.compile(r"\s+(?=[,.;:!?])")
_SPACES_RE = re.compile(r"\s+")
_SPEECH_TABLE = str.maketrans({'"': " ", "[": " ", "]": " ", "_": "", "-": " ",
                               "(": " -- ", ")": " -- "})


def clean_paragraph(text):
    """Source paragraph -> text fit for speaking (still cased and punctuated).

    Quotes, brackets and underscores go; dashes and parentheses become the clause-break marker
    ' -- '; abbreviations and numbers are spelled out; hyphenated words are split; words in
    capitals are capitalised (espeak-ng would spell them); Roman numerals become '#', which
    makes segments holding them unusable ('Henry VIII': the spoken form is unclear)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
        text = (text.replace("\u2018", "'").replace("\u2019", "'").replace("\u201c", '"')
                .replace("\u201d", '"').replace("\u2014", "--").replace("\u2013", "--"))
    if "&" in text:
        text = re.sub(r"&c\.?", "et cetera", text)
    text = _ABBREV_RE.sub(lambda m: _ABBREVIATIONS[m.group(1) or m.group(2) or m.group(3)], text)
    if _DIGIT_RE.search(text):
        text = _NUMBER_RE.sub(_spell_number, text)
    text = _DASHES_RE.sub(" -- ", text)
    text = _WORD_HYPHEN_RE.sub(" ", text)                # good-humoured -> good humoured
    text = text.replace(" -- ", "\0").translate(_SPEECH_TABLE).replace("\0", " -- ")
    text = _ROMAN_WORD_RE.sub("#", text)
    text = _CAPS_WORD_RE.sub(lambda m: m.group(0).capitalize(), text)
    text = _PUNCT_RUN_RE.sub(r"\1", text)               # 'Darcy:, but' -> 'Darcy: but'
    text = _SPACE_PUNCT_RE.sub("", text)
    return _SPACES_RE.sub(" ", text).strip()


_VOCAB_TABLE = str.maketrans({c: " " for c in map(chr, range(128))
                              if not (c.isalpha() or c in "' ")})
_LOOSE_APOSTROPHE_RE = re.compile(r"(?<![A-Z])'|'(?![A-Z])")


def transcript_of(spoken):
    """Spoken text -> transcript in the wav2vec2 vocabulary: A-Z, apostrophe, single spaces."""
    t = spoken.upper().translate(_VOCAB_TABLE)
    if "'" in t:
        t = _LOOSE_APOSTROPHE_RE.sub("", t)              # apostrophes only inside words
    t = " ".join(t.split())
    return t if _TRANSCRIPT_OK_RE.match(t) else ""


_TRANSCRIPT_OK_RE = re.compile(r"^[A-Z']+(?: [A-Z']+)*$")


def _finish_chunk(chunk):
    """A chunk of a cleaned paragraph -> (spoken, transcript), or None when it is unusable."""
    s = chunk.replace(" -- ", ", ").replace("--", " ")
    s = _PUNCT_RUN_RE.sub(r"\1", _SPACE_PUNCT_RE.sub("", " ".join(s.split())))
    s = s.strip(",.;:!?' ")
    if not s or not _SPOKEN_OK_RE.match(s):
        return None
    if s[-1] not in ".!?":
        s += "."
    t = transcript_of(s)
    return (s, t) if t else None


def _pieces_to_chunks(pieces, max_words):
    chunks, cur, n = [], [], 0
    for p in pieces:
        k = len(p.split())
        if cur and n + k > max_words:
            chunks.append(" ".join(cur))
            cur, n = [], 0
        cur.append(p)
        n += k
    if cur:
        chunks.append(" ".join(cur))
    return chunks


def segment_paragraph(paragraph, min_words, max_words):
    """A cleaned paragraph -> [(spoken, transcript)] of min_words..max_words words each."""
    out = []
    for sentence in _SENTENCE_END_RE.split(paragraph):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence.split()) <= max_words:
            chunks = [sentence]
        else:
            pieces = []
            for piece in _STRONG_BREAK_RE.split(sentence):
                if len(piece.split()) > max_words:
                    pieces += _COMMA_BREAK_RE.split(piece)
                else:
                    pieces.append(piece)
            chunks = _pieces_to_chunks([p for p in pieces if p.strip()], max_words)
        for chunk in chunks:
            done = _finish_chunk(chunk)
            if done and min_words <= len(done[1].split()) <= max_words:
                out.append(done)
    return out


def paragraphs_of(lines):
    para = []
    for line in lines + [""]:
        if line.strip():
            para.append(line.strip())
            continue
        if para:
            text = " ".join(para)
            para = []
            if not _LOWER_RE.search(text):
                continue                               # titles, headings in capitals
            if _HEADING_RE.match(text) or text.startswith("["):
                continue
            yield text


def build_sentences(books, min_words, max_words):
    """Ordered, de-duplicated [(spoken, transcript)] of all books."""
    seen = set()
    out = []
    for _, lines in books:
        for paragraph in paragraphs_of(lines):
            for spoken, transcript in segment_paragraph(clean_paragraph(paragraph), min_words,
                                                        max_words):
                if transcript in seen:
                    continue
                seen.add(transcript)
                out.append((spoken, transcript))
    return out


def block_size(n):
    """Sentences per block: BLOCK, smaller for a small text (at least ~40 blocks)."""
    return max(1, min(BLOCK, n // 40))


def partition_sentences(n, partition_seed, eval_fraction):
    """Split name for each of n ordered sentences; blocks of consecutive ones go together."""
    block = block_size(n)
    nblocks = (n + block - 1) // block
    rng = np.random.default_rng([partition_seed, PARTITION_VERSION, 1])
    order = rng.permutation(nblocks)
    n_eval = max(1, int(round(nblocks * eval_fraction)))
    if 2 * n_eval >= nblocks:
        raise SystemExit("error: too little text (%d sentences) for train/dev/test" % n)
    block_split = np.empty(nblocks, dtype=np.int64)
    block_split[order[:n_eval]] = SPLIT_INDEX["test"]
    block_split[order[n_eval:2 * n_eval]] = SPLIT_INDEX["dev"]
    block_split[order[2 * n_eval:]] = SPLIT_INDEX["train"]
    return [SPLITS[block_split[i // block]] for i in range(n)]


# ---------------------------------------------------------------------------------------------
# Speakers (voice settings) and perturbations.


def available_variants():
    """VARIANTS that this espeak-ng has (it silently uses the plain voice for unknown ones)."""
    try:
        out = subprocess.run(["espeak-ng", "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, check=False).stdout.decode(errors="replace")
    except OSError:
        return list(VARIANTS)
    m = re.search(r"Data at:\s*(\S+)", out)
    if not m or not os.path.isdir(os.path.join(m.group(1), "voices", "!v")):
        return list(VARIANTS)
    folder = os.path.join(m.group(1), "voices", "!v")
    have = [v for v in VARIANTS if not v or os.path.isfile(os.path.join(folder, v))]
    missing = [v for v in VARIANTS if v and v not in have]
    if missing:
        print("warning: espeak-ng lacks voice variants %s; the voice partition differs from a "
              "complete espeak-ng's" % ", ".join(missing), file=sys.stderr)
    return have


def voice_pool(partition_seed, variants):
    """{split: [(accent, variant)]}: disjoint (accent, variant) pairs per split."""
    combos = [(a, v) for a in ACCENTS for v in variants]
    rng = np.random.default_rng([partition_seed, PARTITION_VERSION, 2])
    order = [combos[i] for i in rng.permutation(len(combos))]
    k = max(1, len(combos) // 10)
    return {"test": order[:k], "dev": order[k:2 * k], "train": order[2 * k:]}


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def make_speaker(split, index, seed, pool, long_form):
    """The voice setting of speaker `index` of `split` (depends only on seed, split, index)."""
    sidx = SPLIT_INDEX[split]
    rng = np.random.default_rng([seed, sidx, 3, index, int(long_form)])
    order = np.random.default_rng([seed, sidx, 4]).permutation(len(pool))
    accent, variant = pool[int(order[index % len(pool)])]
    spk = {
        "speaker": SPEAKER_BASE[split] + index,
        "split": split,
        "accent": accent,
        "variant": variant,
        "voice": accent + ("+" + variant if variant else ""),
        "wpm": int(round(_u(rng, 130, 200))),
        "pitch": int(round(_u(rng, 20, 80))),
        "word_gap": int(rng.choice([0, 0, 0, 0, 1, 2, 3])),
        "speed": 1.0 if rng.random() < 0.4 else round(_u(rng, 0.92, 1.08), 3),
        "pitch_cents": 0 if rng.random() < 0.5 else int(round(_u(rng, -250, 250))),
        "level_db": round(_u(rng, -32, -16), 1),
    }
    r = rng.random()
    spk["reverb"] = None if r < 0.7 else [int(_u(rng, 10, 50)), int(_u(rng, 20, 80))]
    r = rng.random()
    if r < 0.55:
        spk["band"] = None
    elif r < 0.75:
        spk["band"] = ["lowpass", int(round(_u(rng, 3000, 7000), -2))]
    elif r < 0.85:
        spk["band"] = ["telephone", 3400]
    else:
        spk["band"] = ["highpass", int(round(_u(rng, 150, 400), -1))]
    r = rng.random()
    if r < 0.3 and not long_form:
        spk["noise"], spk["snr_db"] = None, None
    else:
        spk["noise"] = NOISE_TYPES[int(rng.integers(len(NOISE_TYPES)))]
        spk["snr_db"] = round(_u(rng, 10, 35), 1)
    if long_form:
        # Rate, pitch shift, noise, level and low-pass come from the chapter's drift instead;
        # the voice, pitch, word gap and reverb stay.
        spk.update(speed=1.0, pitch_cents=0, band=None, noise=None, snr_db=None, level_db=None)
    return spk


def profile_string(spk):
    parts = ["speed=%g" % spk["speed"], "pitch=%+dc" % spk["pitch_cents"]]
    if spk["reverb"]:
        parts.append("reverb=%d/%d" % tuple(spk["reverb"]))
    if spk["band"]:
        parts.append("%s=%d" % tuple(spk["band"]))
    if spk["noise"]:
        parts.append("noise=%s@%gdB" % (spk["noise"], spk["snr_db"]))
    if spk["level_db"] is None:
        parts = [p for p in parts if not p.startswith(("speed=", "pitch="))]
        parts.append("long-form drift (see %s.chapters.tsv)" % spk["split"])
    else:
        parts.append("level=%gdBFS" % spk["level_db"])
    return " ".join(parts) if parts else "-"


def make_drift(split, chapter_index, seed):
    """Slowly changing perturbations of one long-form chapter: (start, end) per quantity."""
    rng = np.random.default_rng([seed, SPLIT_INDEX[split], 6, chapter_index])

    def pair(lo, hi, min_gap):
        a = _u(rng, lo, hi)
        b = _u(rng, lo, hi)
        while abs(a - b) < min_gap:
            b = _u(rng, lo, hi)
        return [a, b]

    clean, noisy = _u(rng, 25, 40), _u(rng, 3, 12)
    snr = [clean, noisy] if rng.random() < 0.5 else [noisy, clean]
    lowpass = None
    if rng.random() < 0.5:
        cut = _u(rng, 2500, 4000)
        lowpass = [7800.0, cut] if rng.random() < 0.5 else [cut, 7800.0]
    return {
        "shape": "ramp" if rng.random() < 0.6 else "bump",
        "noise": NOISE_TYPES[int(rng.integers(len(NOISE_TYPES)))],
        "snr_db": [round(x, 1) for x in snr],
        "rate": [round(x, 3) for x in pair(0.85, 1.15, 0.12)],        # espeak wpm factor
        "pitch_cents": [int(round(x)) for x in pair(-300, 300, 200)],
        "lowpass_hz": None if lowpass is None else [int(round(x, -1)) for x in lowpass],
        "level_db": [round(x, 1) for x in pair(-34, -16, 6)],
    }


def drift_value(drift, key, t):
    """Value of drift[key] at chapter position t in [0, 1]."""
    a, b = drift[key]
    w = t if drift["shape"] == "ramp" else math.sin(math.pi * t)
    return a + (b - a) * w


def drift_string(d):
    out = ["shape=%s" % d["shape"], "noise=%s" % d["noise"],
           "snr=%g->%gdB" % tuple(d["snr_db"]), "rate=%g->%g" % tuple(d["rate"]),
           "pitch=%+d->%+dc" % tuple(d["pitch_cents"]), "level=%g->%gdBFS" % tuple(d["level_db"])]
    if d["lowpass_hz"]:
        out.append("lowpass=%d->%dHz" % tuple(d["lowpass_hz"]))
    return " ".join(out)


# ---------------------------------------------------------------------------------------------
# Synthesis of one utterance.


def estimate_seconds(transcript, wpm):
    """espeak-ng duration estimate (calibrated on this text at 175 wpm), without padding."""
    return 0.5 + len(transcript) * 0.0552 * 175.0 / wpm


def _noise(kind, n, rng):
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind in ("pink", "brown"):
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.arange(len(spec), dtype=np.float64)
        f[0] = 1.0
        spec /= np.sqrt(f) if kind == "pink" else f
        spec[0] = 0.0
        x = np.fft.irfft(spec, n)
    elif kind == "hum":
        t = np.arange(n) / SAMPLE_RATE
        f0 = 50.0 if rng.random() < 0.5 else 60.0
        x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 8))
        x = x + 0.05 * rng.standard_normal(n)
    else:
        raise ValueError(kind)
    rms = float(np.sqrt(np.mean(x * x))) or 1.0
    return x / rms


def _active_rms(x):
    frame = 320
    n = len(x) // frame
    if n == 0:
        return float(np.sqrt(np.mean(x * x) + 1e-12))
    power = np.mean(x[:n * frame].reshape(n, frame) ** 2, axis=1)
    active = power[power > power.max() * 1e-4]
    return float(np.sqrt(np.mean(active) + 1e-12))


def _run(cmd, stdin_bytes=None):
    p = subprocess.run(cmd, input=stdin_bytes, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (cmd[0], p.returncode,
                                                         p.stderr.decode(errors="replace").strip()))
    return p.stdout


def synthesize(job):
    """Writes job['path'] (16 kHz mono 16-bit FLAC); returns its duration in seconds."""
    espeak = ["espeak-ng", "-v", job["voice"], "-s", str(job["wpm"]), "-p", str(job["pitch"]),
              "-g", str(job["word_gap"]), "--stdout"]
    wav = _run(espeak, stdin_bytes=job["spoken"].encode("utf-8"))
    effects = []
    if job["speed"] != 1.0:
        effects += ["speed", "%.4f" % job["speed"]]
    if job["pitch_cents"]:
        effects += ["pitch", str(job["pitch_cents"])]
    if job["reverb"]:
        effects += ["reverb", str(job["reverb"][0]), "50", str(job["reverb"][1])]
    band = job["band"]
    if band:
        # sinc: steep FIR filters (sox's lowpass/highpass are only 12 dB/octave).
        if band[0] == "lowpass":
            effects += ["sinc", "-t", "400", "-%d" % band[1]]
        elif band[0] == "highpass":
            effects += ["sinc", "-t", "100", "%d" % band[1]]
        elif band[0] == "telephone":
            effects += ["sinc", "-t", "200", "300-%d" % band[1]]
    effects += ["rate", "-h", str(SAMPLE_RATE), "channels", "1"]
    raw = _run(["sox", "-V1", "-R", "-D", "-t", "wav", "-", "-t", "raw", "-e", "floating-point",
                "-b", "32", "-"] + effects, stdin_bytes=wav)
    speech = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    rng = np.random.default_rng(job["rng"])
    speech *= 10 ** (job["level_db"] / 20.0) / _active_rms(speech)
    pre = int(SAMPLE_RATE * job["pad"][0])
    post = int(SAMPLE_RATE * job["pad"][1])
    x = np.concatenate([np.zeros(pre), speech, np.zeros(post)])
    if job["noise"]:
        speech_rms = 10 ** (job["level_db"] / 20.0)
        snr = np.linspace(job["snr_db"][0], job["snr_db"][1], len(x))
        x = x + _noise(job["noise"], len(x), rng) * speech_rms * 10 ** (-snr / 20.0)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 0.97:
        x *= 0.97 / peak
    pcm = np.round(x * 32767.0).astype("<i2").tobytes()
    _run(["sox", "-V1", "-R", "-t", "raw", "-e", "signed-integer", "-b", "16", "-r",
          str(SAMPLE_RATE), "-c", "1", "-", "-C", "5", job["path"]], stdin_bytes=pcm)
    return len(x) / SAMPLE_RATE


# ---------------------------------------------------------------------------------------------
# Planning the corpus.


def parse_per_split(text, cast, name):
    """'5' -> every split 5; 'train=5,dev=1,test=1' -> per split (missing splits: None)."""
    if text is None:
        return None

    def value(v):
        try:
            x = cast(v)
        except ValueError:
            raise SystemExit("error: %s: '%s' is not a number" % (name, v))
        if x < 0:
            raise SystemExit("error: %s: '%s' is negative" % (name, v))
        return x

    if "=" not in text:
        v = value(text)
        return {s: v for s in SPLITS}
    out = {s: None for s in SPLITS}
    for part in text.split(","):
        key, _, v = part.partition("=")
        key = key.strip()
        if key not in SPLITS:
            raise SystemExit("error: %s: unknown split '%s' (train, dev, test)" % (name, key))
        out[key] = value(v)
    return out


def _utt_job(spk, spoken, transcript, seed, uid_numbers, path, pad_rng):
    return {
        "voice": spk["voice"], "wpm": spk["wpm"], "pitch": spk["pitch"],
        "word_gap": spk["word_gap"], "speed": spk["speed"], "pitch_cents": spk["pitch_cents"],
        "reverb": spk["reverb"], "band": spk["band"], "level_db": spk["level_db"],
        "noise": spk["noise"],
        "snr_db": None if spk["snr_db"] is None else [spk["snr_db"], spk["snr_db"]],
        "pad": [round(_u(pad_rng, 0.1, 0.45), 3), round(_u(pad_rng, 0.1, 0.45), 3)],
        "rng": [seed] + uid_numbers + [7],
        "spoken": spoken, "transcript": transcript, "path": path,
    }


def plan_split(split, args, sentences, split_of, pool):
    """(jobs, speakers, chapters) of one split; jobs in output order."""
    sidx = SPLIT_INDEX[split]
    ids = [i for i, s in enumerate(split_of) if s == split]
    if not ids:
        raise SystemExit("error: no sentences for split %s" % split)
    n_speakers = args.speakers[split]
    if n_speakers > SPEAKER_LIMIT[split]:
        raise SystemExit("error: at most %d %s speakers" % (SPEAKER_LIMIT[split], split))
    split_dir = os.path.join(args.out, split)
    speakers = {}
    jobs = []
    chapters = []

    def speaker(index):
        if index not in speakers:
            speakers[index] = make_speaker(split, index, args.seed, pool[split], args.long_form)
        return speakers[index]

    if not args.long_form:
        rng = np.random.default_rng([args.seed, sidx, 5])
        pad_rng = np.random.default_rng([args.seed, sidx, 8])
        limit_n = args.num_utterances[split] if args.num_utterances else None
        limit_s = args.hours[split] * 3600.0 if args.hours else None
        order = []
        per_speaker = {}
        total = 0.0
        k = 0
        while (limit_n is not None and k < limit_n) or (limit_s is not None and total < limit_s):
            if not order:
                order = [ids[i] for i in rng.permutation(len(ids))][::-1]
            sent = order.pop()
            spk = speaker(k % n_speakers)
            per_speaker.setdefault(spk["speaker"], []).append(sent)
            total += estimate_seconds(sentences[sent][1], spk["wpm"]) / spk["speed"] + 0.55
            k += 1
        for index in sorted(speakers):
            spk = speakers[index]
            sents = per_speaker.get(spk["speaker"], [])
            chapter = spk["speaker"] * 100
            width = max(4, len(str(len(sents) - 1)))
            chapters.append({"chapter": chapter, "speaker": spk["speaker"],
                             "utterances": len(sents), "drift": None})
            for u, sent in enumerate(sents):
                uid = "%d-%d-%0*d" % (spk["speaker"], chapter, width, u)
                path = os.path.join(split_dir, str(spk["speaker"]), str(chapter), uid + ".flac")
                spoken, transcript = sentences[sent]
                job = _utt_job(spk, spoken, transcript, args.seed,
                               [sidx, spk["speaker"], chapter, u], path, pad_rng)
                if spk["snr_db"] is not None:   # a little variation between utterances
                    snr = round(spk["snr_db"] + _u(pad_rng, -3, 3), 1)
                    job["snr_db"] = [snr, snr]
                job.update(uid=uid, chapter=chapter, speaker=spk["speaker"])
                jobs.append(job)
        return jobs, speakers, chapters

    # Long form: chapters of consecutive sentences, perturbations drifting over the chapter.
    n_chapters = args.chapters[split]
    rng = np.random.default_rng([args.seed, sidx, 9])
    pad_rng = np.random.default_rng([args.seed, sidx, 8])
    idset = set(ids)
    block = block_size(len(sentences))
    blocks = sorted({i // block for i in ids})
    queue = []
    cursor = []
    target = args.chapter_minutes * 60.0
    for c in range(n_chapters):
        spk = speaker(c % n_speakers)
        chapter = spk["speaker"] * 100 + c // n_speakers
        drift = make_drift(split, c, args.seed)
        sents, est = [], []
        while sum(est) < target:
            if not cursor:
                if not queue:
                    queue = [blocks[i] for i in rng.permutation(len(blocks))][::-1]
                b = queue.pop()
                cursor = [i for i in range(b * block, (b + 1) * block) if i in idset][::-1]
                continue
            sent = cursor.pop()
            sents.append(sent)
            est.append(estimate_seconds(sentences[sent][1], spk["wpm"]) + 0.55)
        total = sum(est)
        width = max(4, len(str(len(sents) - 1)))
        chapters.append({"chapter": chapter, "speaker": spk["speaker"], "utterances": len(sents),
                         "drift": drift})
        elapsed = 0.0
        for u, sent in enumerate(sents):
            t0, t1 = elapsed / total, (elapsed + est[u]) / total
            tm = (t0 + t1) / 2
            elapsed += est[u]
            uid = "%d-%d-%0*d" % (spk["speaker"], chapter, width, u)
            path = os.path.join(split_dir, str(spk["speaker"]), str(chapter), uid + ".flac")
            spoken, transcript = sentences[sent]
            job = _utt_job(spk, spoken, transcript, args.seed, [sidx, spk["speaker"], chapter, u],
                           path, pad_rng)
            job["wpm"] = int(round(spk["wpm"] * drift_value(drift, "rate", tm)))
            job["speed"] = 1.0
            job["pitch_cents"] = int(round(drift_value(drift, "pitch_cents", tm)))
            job["level_db"] = round(drift_value(drift, "level_db", tm), 2)
            job["noise"] = drift["noise"]
            job["snr_db"] = [round(drift_value(drift, "snr_db", t0), 2),
                             round(drift_value(drift, "snr_db", t1), 2)]
            if drift["lowpass_hz"]:
                job["band"] = ["lowpass", int(round(drift_value(drift, "lowpass_hz", tm), -1))]
            job.update(uid=uid, chapter=chapter, speaker=spk["speaker"])
            jobs.append(job)
    return jobs, speakers, chapters


# ---------------------------------------------------------------------------------------------
# Running.


class Progress:
    def __init__(self, split, total, quiet):
        self.split, self.total, self.quiet = split, total, quiet
        self.done = 0
        self.seconds = 0.0
        self.start = time.monotonic()
        self.last = 0.0
        self.lock = threading.Lock()

    def add(self, seconds):
        with self.lock:
            self.done += 1
            self.seconds += seconds
            now = time.monotonic()
            if self.quiet or (now - self.last < 2.0 and self.done != self.total):
                return
            self.last = now
            elapsed = now - self.start
            rate = self.done / elapsed if elapsed > 0 else 0.0
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            print("[%s] %d/%d utterances, %.2f h audio, %.1f utt/s, %.0f s elapsed, ETA %.0f s"
                  % (self.split, self.done, self.total, self.seconds / 3600.0, rate, elapsed, eta),
                  file=sys.stderr, flush=True)


def run_split(split, jobs, args):
    for d in sorted({os.path.dirname(j["path"]) for j in jobs}):
        os.makedirs(d, exist_ok=True)
    progress = Progress(split, len(jobs), args.quiet)
    durations = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(synthesize, j): j["uid"] for j in jobs}
        try:
            for f in concurrent.futures.as_completed(futures):
                d = f.result()
                durations[futures[f]] = d
                progress.add(d)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    # Transcripts, one file per chapter, utterances in order.
    by_chapter = {}
    for j in jobs:
        by_chapter.setdefault((j["speaker"], j["chapter"]), []).append(j)
    for (spk, chapter), items in by_chapter.items():
        path = os.path.join(args.out, split, str(spk), str(chapter),
                            "%d-%d.trans.txt" % (spk, chapter))
        with open(path, "w", encoding="utf-8") as f:
            for j in items:
                f.write("%s %s\n" % (j["uid"], j["transcript"]))
    return durations, time.monotonic() - progress.start


def tool_version(cmd):
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        return out.stdout.decode(errors="replace").strip().splitlines()[0]
    except OSError:
        return None


def write_metadata(split, args, jobs, speakers, chapters, durations, wall, source):
    used = {j["speaker"] for j in jobs}
    with open(os.path.join(args.out, split + ".speakers.tsv"), "w", encoding="utf-8") as f:
        f.write("speaker\tvoice\twpm\tpitch\tword_gap\tprofile\tutterances\tseconds\n")
        for index in sorted(speakers):
            spk = speakers[index]
            if spk["speaker"] not in used:
                continue
            mine = [j for j in jobs if j["speaker"] == spk["speaker"]]
            f.write("%d\t%s\t%d\t%d\t%d\t%s\t%d\t%.2f\n" % (
                spk["speaker"], spk["voice"], spk["wpm"], spk["pitch"], spk["word_gap"],
                profile_string(spk), len(mine), sum(durations[j["uid"]] for j in mine)))
    with open(os.path.join(args.out, split + ".chapters.tsv"), "w", encoding="utf-8") as f:
        f.write("chapter\tspeaker\tutterances\tseconds\tdrift\n")
        for ch in chapters:
            if not ch["utterances"]:
                continue
            mine = [j for j in jobs if j["chapter"] == ch["chapter"]]
            f.write("%d\t%d\t%d\t%.2f\t%s\n" % (
                ch["chapter"], ch["speaker"], ch["utterances"],
                sum(durations[j["uid"]] for j in mine),
                drift_string(ch["drift"]) if ch["drift"] else "-"))
    info = {
        "split": split,
        "long_form": bool(args.long_form),
        "utterances": len(jobs),
        "speakers": len(used),
        "chapters": sum(1 for c in chapters if c["utterances"]),
        "hours": round(sum(durations.values()) / 3600.0, 4),
        "wall_seconds": round(wall, 1),
        "seed": args.seed,
        "partition_seed": args.partition_seed,
        "partition_version": PARTITION_VERSION,
        "text_source": source,
        "min_words": args.min_words,
        "max_words": args.max_words,
        "eval_fraction": args.eval_fraction,
        "espeak_ng": tool_version(["espeak-ng", "--version"]),
        "sox": tool_version(["sox", "--version"]),
        "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
    }
    with open(os.path.join(args.out, split + ".info.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    return info


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Synthetic LibriSpeech-layout corpus: espeak-ng voices reading public-domain "
                    "sentences (Jane Austen), with sox/numpy perturbations. "
                    "See docs/synthetic_corpus.md.")
    p.add_argument("--out", default=None,
                   help="output folder (holds <split>/ folders); required unless --text_out")
    p.add_argument("--splits", default=None,
                   help="comma-separated splits to write (default: train,dev,test; "
                        "with --long_form: test)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--num_utterances", default=None,
                      help="utterances per split: N for every split or train=N,dev=N,test=N "
                           "(default train=1000,dev=200,test=200)")
    size.add_argument("--hours", default=None,
                      help="hours of audio per split (estimated while planning; the real total "
                           "is reported): H or train=H,dev=H,test=H")
    p.add_argument("--speakers", default=None,
                   help="voice settings per split: N or train=N,dev=N,test=N (default "
                        "train=200,dev=20,test=20); utterances go to them in turn")
    p.add_argument("--seed", type=int, default=1,
                   help="voices, perturbations, noise and which sentences of each split are used "
                        "(default %(default)s)")
    p.add_argument("--partition_seed", type=int, default=0,
                   help="which sentences and (accent, variant) pairs belong to train/dev/test; "
                        "keep it equal across corpora that must stay disjoint "
                        "(default %(default)s)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="parallel espeak-ng/sox pipelines (default: the number of CPUs, "
                        "%(default)s here)")
    p.add_argument("--long_form", action="store_true",
                   help="long-form test streams: chapters of one speaker, --chapter_minutes long, "
                        "consecutive sentences, perturbations drifting across the chapter")
    p.add_argument("--chapters", default=None,
                   help="--long_form: chapters per split, N or train=N,dev=N,test=N (default 4)")
    p.add_argument("--chapter_minutes", type=float, default=5.0,
                   help="--long_form: length of each chapter, estimated (default %(default)s)")
    p.add_argument("--text_file", action="append", default=None,
                   help="plain UTF-8 text to use instead of Jane Austen (paragraphs separated by "
                        "blank lines; repeatable). Check its licence yourself")
    p.add_argument("--janeaustenr_dir", default=JANEAUSTENR_DIR,
                   help="data folder of the r-cran-janeaustenr package (default %(default)s)")
    p.add_argument("--min_words", type=int, default=3,
                   help="shortest sentence kept, in words (default %(default)s)")
    p.add_argument("--max_words", type=int, default=24,
                   help="longer sentences are cut at clause breaks (default %(default)s)")
    p.add_argument("--eval_fraction", type=float, default=0.05,
                   help="share of the text held out for dev, and again for test "
                        "(default %(default)s)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace split folders that already exist")
    p.add_argument("--dry_run", action="store_true",
                   help="plan and print counts, write nothing")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--text_out", default=None,
                   help="write the transcripts of ALL sentences of --splits (default: train) to "
                        "this file, one per line, and exit without audio: the text of a language "
                        "model that shares no sentence with dev/test (tools/build_ngram_lm.py)")
    args = p.parse_args(argv)
    if args.text_out and args.splits is None:
        args.splits = "train"
    if not args.out and not args.text_out:
        p.error("--out is required")

    args.splits = [s.strip() for s in (args.splits or ("test" if args.long_form else
                                                        "train,dev,test")).split(",") if s.strip()]
    for s in args.splits:
        if s not in SPLITS:
            p.error("unknown split '%s' (train, dev, test)" % s)
    if args.num_utterances is None and args.hours is None:
        args.num_utterances = "train=1000,dev=200,test=200"
    args.num_utterances = parse_per_split(args.num_utterances, int, "--num_utterances")
    args.hours = parse_per_split(args.hours, float, "--hours")
    speakers = {"train": 200, "dev": 20, "test": 20}
    for key, value in (parse_per_split(args.speakers, int, "--speakers") or {}).items():
        if value is not None:
            speakers[key] = value
    args.speakers = speakers
    chapters = {s: 4 for s in SPLITS}
    for key, value in (parse_per_split(args.chapters, int, "--chapters") or {}).items():
        if value is not None:
            chapters[key] = value
    args.chapters = chapters
    if min(args.speakers.values()) < 1 or min(args.chapters.values()) < 1:
        p.error("--speakers and --chapters must be >= 1")
    if not args.long_form and not args.text_out:
        for s in args.splits:
            if (args.num_utterances or args.hours)[s] is None:
                p.error("no size given for split %s" % s)
    if args.jobs < 1:
        p.error("--jobs must be >= 1")
    if not 0 < args.eval_fraction < 0.5:
        p.error("--eval_fraction must be in (0, 0.5)")
    if args.min_words < 1 or args.max_words < args.min_words:
        p.error("need 1 <= --min_words <= --max_words")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    for tool in ("espeak-ng", "sox"):
        if not args.dry_run and not args.text_out and shutil.which(tool) is None:
            raise SystemExit("error: %s not found (apt-get install espeak-ng sox)" % tool)

    if not args.dry_run and not args.overwrite and not args.text_out:
        for split in args.splits:
            split_dir = os.path.join(args.out, split)
            if os.path.isdir(split_dir) and os.listdir(split_dir):
                raise SystemExit("error: %s exists and is not empty (use --overwrite)" % split_dir)

    if args.text_file:
        books = load_text_files(args.text_file)
        source = {"name": "text files", "files": [os.path.abspath(x) for x in args.text_file],
                  "licence": "as given by the user"}
    else:
        if not os.path.exists(os.path.join(args.janeaustenr_dir, "Rdata.rdb")):
            raise SystemExit("error: %s/Rdata.rdb not found: apt-get install "
                             "--no-install-recommends r-cran-janeaustenr (or pass --text_file)"
                             % args.janeaustenr_dir)
        books = load_janeaustenr(args.janeaustenr_dir)
        source = {"name": "Jane Austen, six novels (Debian package r-cran-janeaustenr)",
                  "books": list(JANEAUSTENR_BOOKS),
                  "licence": "novels public domain (published 1811-1818); package MIT"}

    t0 = time.monotonic()
    sentences = build_sentences(books, args.min_words, args.max_words)
    split_of = partition_sentences(len(sentences), args.partition_seed, args.eval_fraction)
    pool = voice_pool(args.partition_seed, available_variants())
    counts = {s: sum(1 for x in split_of if x == s) for s in SPLITS}
    print("text: %d sentences (train %d, dev %d, test %d) in %.1f s; voices (accent+variant): "
          "train %d, dev %d, test %d" % (len(sentences), counts["train"], counts["dev"],
                                         counts["test"], time.monotonic() - t0,
                                         len(pool["train"]), len(pool["dev"]), len(pool["test"])),
          file=sys.stderr, flush=True)

    if args.text_out:
        with open(args.text_out, "w", encoding="utf-8") as f:
            n = 0
            for (_, transcript), split in zip(sentences, split_of):
                if split in args.splits:
                    f.write(transcript + "\n")
                    n += 1
        print("wrote %d sentences of %s to %s" % (n, ",".join(args.splits), args.text_out),
              file=sys.stderr, flush=True)
        return 0

    plans = {}
    for split in args.splits:
        plans[split] = plan_split(split, args, sentences, split_of, pool)
        jobs = plans[split][0]
        est = sum(estimate_seconds(j["transcript"], j["wpm"]) / j["speed"] + sum(j["pad"])
                  for j in jobs)
        print("[%s] planned %d utterances, %d speakers, %d chapters, about %.2f h"
              % (split, len(jobs), len({j["speaker"] for j in jobs}),
                 len({j["chapter"] for j in jobs}), est / 3600.0), file=sys.stderr, flush=True)
    if args.dry_run:
        return 0

    os.makedirs(args.out, exist_ok=True)
    for split in args.splits:
        split_dir = os.path.join(args.out, split)
        if os.path.isdir(split_dir) and os.listdir(split_dir):
            shutil.rmtree(split_dir)                   # --overwrite (checked above)
    for split in args.splits:
        jobs, speakers, chapters = plans[split]
        durations, wall = run_split(split, jobs, args)
        info = write_metadata(split, args, jobs, speakers, chapters, durations, wall, source)
        print("[%s] wrote %d utterances, %.2f h, in %.1f s (%.0f utt/min) -> %s"
              % (split, info["utterances"], info["hours"], wall,
                 60.0 * info["utterances"] / max(wall, 1e-9), os.path.join(args.out, split)),
              file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
