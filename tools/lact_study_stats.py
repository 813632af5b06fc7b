"""Scoring and statistics helpers of tools/lact_study_report.py (numpy only).

- edit_distance: Levenshtein distance of two token sequences, one numpy row per reference token
  (the insertion chain of a row is a running minimum), so whole LibriSpeech chapters (~10^4
  characters) score in well under a second. Only the total count is used, as in
  tests/client/score_reference.py (errors = S + D + I of a minimum-edit alignment).
- score: word and character errors and reference sizes of one hypothesis/reference pair
  (words = whitespace split, upper-cased; characters = the words joined by single spaces).
- paired_bootstrap: chapters resampled with replacement, the same resample for both settings.
- assign_words / position_curve: the per-position (LaCT chunk) CER curve.
"""
import numpy as np


def edit_distance(ref, hyp):
    """Levenshtein distance (substitution = deletion = insertion = 1) of two sequences."""
    ref, hyp = list(ref), list(hyp)
    while ref and hyp and ref[-1] == hyp[-1]:  # a common prefix/suffix costs nothing
        ref.pop(), hyp.pop()
    k = 0
    while k < len(ref) and k < len(hyp) and ref[k] == hyp[k]:
        k += 1
    ref, hyp = ref[k:], hyp[k:]
    n, m = len(ref), len(hyp)
    if n == 0 or m == 0:
        return n + m
    vocab = {}
    r = [vocab.setdefault(t, len(vocab)) for t in ref]
    h = np.array([vocab.setdefault(t, len(vocab)) for t in hyp], dtype=np.int64)
    differs = {t: (h != t).astype(np.int64) for t in set(r)}
    cols = np.arange(m + 1, dtype=np.int64)
    row, cand, tmp = cols.copy(), np.empty(m + 1, np.int64), np.empty(m, np.int64)
    for i in range(1, n + 1):
        cand[0] = i
        # Substitution/match from the diagonal, deletion from the row above.
        np.add(row[:-1], differs[r[i - 1]], out=tmp)
        np.minimum(tmp, row[1:] + 1, out=cand[1:])
        # Insertions: new[j] = min over k <= j of (cand[k] + j - k).
        np.subtract(cand, cols, out=cand)
        np.minimum.accumulate(cand, out=row)
        row += cols
    return int(row[m])


def normalize_words(text_or_words):
    words = text_or_words.split() if isinstance(text_or_words, str) else text_or_words
    return [w.upper() for w in words]


def score(ref_words, hyp_words):
    """(word errors, ref words, char errors, ref chars) of word lists (already upper case)."""
    ref_chars, hyp_chars = " ".join(ref_words), " ".join(hyp_words)
    return (edit_distance(ref_words, hyp_words), len(ref_words),
            edit_distance(ref_chars, hyp_chars), len(ref_chars))


def resample_weights(rng, n_chapters, n_resamples):
    """(n_resamples, n_chapters) counts: how often each chapter is drawn in each resample."""
    idx = rng.integers(0, n_chapters, size=(n_resamples, n_chapters))
    flat = idx + (np.arange(n_resamples, dtype=np.int64) * n_chapters)[:, None]
    return np.bincount(flat.ravel(), minlength=n_resamples * n_chapters).reshape(
        n_resamples, n_chapters).astype(np.float64)


def rate(errors, ref):
    ref_total = float(np.sum(ref))
    return float(np.sum(errors)) / ref_total if ref_total else float(np.sum(errors))


def paired_bootstrap(weights, err_s, err_b, ref):
    """Corpus rate difference (setting - baseline): (point, lo, hi), 95% percentile interval.
    weights: resample_weights(); err_s, err_b, ref: per-chapter arrays."""
    point = rate(err_s, ref) - rate(err_b, ref)
    den = weights @ np.asarray(ref, dtype=np.float64)
    den = np.where(den > 0, den, 1.0)
    diff = (weights @ (np.asarray(err_s, np.float64) - np.asarray(err_b, np.float64))) / den
    lo, hi = np.percentile(diff, [2.5, 97.5])
    return point, float(lo), float(hi)


def assign_words(starts, ends, word_times):
    """Index of the utterance span [start, end) holding each word's midpoint (nearest span when
    none does). starts/ends: per-utterance arrays (sorted); word_times: list of (start, end)."""
    if not word_times:
        return np.zeros(0, dtype=np.int64)
    starts, ends = np.asarray(starts, np.float64), np.asarray(ends, np.float64)
    mids = np.array([(a + b) / 2.0 for a, b in word_times], dtype=np.float64)
    idx = np.searchsorted(starts, mids, side="right") - 1
    idx = np.clip(idx, 0, len(starts) - 1)
    outside = mids >= ends[idx]  # in a gap or after the last span: nearest of idx, idx + 1
    nxt = np.minimum(idx + 1, len(starts) - 1)
    closer_next = (starts[nxt] - mids) < (mids - ends[idx])
    return np.where(outside & closer_next & (nxt != idx), nxt, idx)


def utterance_char_errors(utterances, words):
    """Per-utterance (char errors, ref chars, start_s) of one chapter's hypothesis.
    utterances: list of (start_s, duration_s, ref word list); words: list of (start, end, word)."""
    starts = [u[0] for u in utterances]
    ends = [u[0] + u[1] for u in utterances]
    which = assign_words(starts, ends, [(w[0], w[1]) for w in words])
    hyps = [[] for _ in utterances]
    for k, w in zip(which, words):
        hyps[int(k)].append(w[2])
    out = []
    for (start, _, ref_words), hyp in zip(utterances, hyps):
        ref_chars = " ".join(ref_words)
        out.append((edit_distance(ref_chars, " ".join(hyp)), len(ref_chars), start))
    return out


def position_curve(per_utt, chunk_seconds):
    """per_utt: list of (char errors, ref chars, start_s) over all chapters ->
    sorted list of (chunk_index, utterances, ref_chars, char_errors, cer)."""
    buckets = {}
    for err, ref, start in per_utt:
        b = buckets.setdefault(int(np.floor(start / chunk_seconds + 1e-9)), [0, 0, 0.0])
        b[0] += 1
        b[1] += ref
        b[2] += err
    return [(k, n, ref, err, err / ref if ref else err)
            for k, (n, ref, err) in sorted(buckets.items())]
