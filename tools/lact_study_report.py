#!/usr/bin/env python3
"""The LaCT long-form study (issue 20): tables, paired bootstrap intervals and the per-position
CER curve from the word timings of several decoding runs of the same long-form corpus.

Corpus (--corpus DIR --split NAME), LibriSpeech layout:
  DIR/NAME/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac          (.wav also accepted)
  DIR/NAME/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt           "<utt-id> <TRANSCRIPT>"
A chapter (id <speaker>-<chapter>) is one stream: its utterances joined in utterance-id order;
utterance i starts at the summed durations of utterances 0..i-1 (read from the FLAC STREAMINFO).

Runs (--run LABEL=PATH, repeated): LABEL is SETTING or SETTING#SEED (runs sharing SETTING are
seeds of one trained setting: their per-chapter errors are averaged). PATH is a words TSV:
  chapter<TAB>start_s<TAB>end_s<TAB>word        (this header line first, then one line per word;
times in seconds from the start of the chapter's stream). Lines of a chapter are taken in start
time order (stable). A corpus chapter with no line is an empty hypothesis (warning on stderr); a
chapter not in the corpus, a malformed line or a missing file is an error (exit 2).

Scoring: words upper-cased and split on whitespace, no other normalisation; characters = the
words joined by single spaces. Corpus rate = summed errors / summed reference. Every setting is
compared with --baseline by a paired bootstrap over chapters (--bootstrap resamples, numpy
Generator seeded by --seed; 95% percentile interval of the corpus-rate difference).
Per-position curve: each word goes to the utterance whose [start, end) holds its midpoint
(nearest otherwise); an utterance's bucket is floor(start / --chunk_seconds), the LaCT chunk it
starts in; CER per setting and bucket over all chapters.

Writes to --out: study.csv (a row per setting, its seeds' errors averaged per chapter, and for a
setting of several seeds also a row per seed run; wer/cer and the differences as fractions,
cer/wer_seed_min/max for multi-seed settings), study.md (also printed), chapters.csv (counts per
run and chapter), position.csv, position.svg (CER per position bucket) and position_delta.svg
(CER difference with the baseline). Example:
  /usr/bin/python3 tools/lact_study_report.py --corpus data/LibriSpeech --split test-clean \\
      --run baseline=runs/base.tsv --run lact#1=runs/l1.tsv --run lact#2=runs/l2.tsv \\
      --out results/lact_study
Needs numpy (Debian's /usr/bin/python3) and the standard library.
"""
import argparse
import csv
import math
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("lact_study_report: error: needs numpy (Debian's /usr/bin/python3 has it)",
          file=sys.stderr)
    sys.exit(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lact_study_stats as stats  # noqa: E402
import lact_study_svg as svg  # noqa: E402


class InputError(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--corpus", required=True, help="LibriSpeech-layout corpus root")
    p.add_argument("--split", required=True, help="split folder under --corpus (test-clean)")
    p.add_argument("--run", action="append", required=True, metavar="LABEL=PATH",
                   help="a run: SETTING or SETTING#SEED = words TSV (repeat)")
    p.add_argument("--baseline", default="baseline", help="setting compared against")
    p.add_argument("--chunk_seconds", type=float, default=5.12,
                   help="LaCT chunk length for the position buckets (256 frames x 20 ms)")
    p.add_argument("--bootstrap", type=int, default=10000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0, help="bootstrap random seed")
    p.add_argument("--out", required=True, help="output folder")
    args = p.parse_args(argv)
    if args.chunk_seconds <= 0 or args.bootstrap < 1:
        p.error("--chunk_seconds must be > 0 and --bootstrap >= 1")
    return args


# ---- corpus ----

def flac_duration(path):
    """Seconds of a FLAC file from its STREAMINFO block (soxi -D when it has no sample count)."""
    with open(path, "rb") as f:
        head = f.read(10)
        if head[:3] == b"ID3" and len(head) == 10:  # ID3v2 tag: 4 syncsafe size bytes
            size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
            f.seek(10 + size)
        else:
            f.seek(0)
        data = f.read(42)
    if len(data) < 42 or data[:4] != b"fLaC" or (data[4] & 0x7F) != 0:
        raise InputError(f"{path}: not a FLAC file (no fLaC STREAMINFO header)")
    v = int.from_bytes(data[18:26], "big")
    rate, total = v >> 44, v & ((1 << 36) - 1)
    if rate and total:
        return total / rate
    try:
        out = subprocess.run(["soxi", "-D", path], capture_output=True, text=True, check=True)
        return float(out.stdout.strip())
    except (OSError, ValueError, subprocess.CalledProcessError):
        raise InputError(f"{path}: FLAC header has no sample count and soxi -D failed")


def audio_duration(base):
    if os.path.exists(base + ".flac"):
        return flac_duration(base + ".flac")
    if os.path.exists(base + ".wav"):
        import wave
        try:
            with wave.open(base + ".wav") as w:
                return w.getnframes() / w.getframerate()
        except (wave.Error, EOFError) as e:
            raise InputError(f"{base}.wav: {e}")
    raise InputError(f"{base}.flac: audio file of a transcribed utterance is missing")


def id_key(text):
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in text.split("-"))


def read_trans(path):
    utts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.strip().split(None, 1)
            if parts:
                utts.append((parts[0], stats.normalize_words(parts[1] if len(parts) > 1 else "")))
    return sorted(utts, key=lambda u: id_key(u[0]))


def read_corpus(root, split):
    """{chapter id: {"utts": [(start_s, duration_s, ref words)], "ref": words, "duration": s}}."""
    top = os.path.join(root, split)
    if not os.path.isdir(top):
        raise InputError(f"{top}: corpus split folder not found")
    corpus = {}
    for dirpath, _, files in os.walk(top):
        for name in files:
            if not name.endswith(".trans.txt"):
                continue
            chapter, utts, start = name[:-len(".trans.txt")], [], 0.0
            for utt, words in read_trans(os.path.join(dirpath, name)):
                dur = audio_duration(os.path.join(dirpath, utt))
                utts.append((start, dur, words))
                start += dur
            if utts:
                corpus[chapter] = {"utts": utts, "duration": start,
                                   "ref": [w for u in utts for w in u[2]]}
    if not corpus:
        raise InputError(f"{top}: no *.trans.txt chapter found")
    return {k: corpus[k] for k in sorted(corpus, key=id_key)}


# ---- runs ----

def parse_run(spec):
    if "=" not in spec:
        raise InputError(f"--run {spec}: expected LABEL=PATH")
    label, path = spec.split("=", 1)
    setting = label.split("#", 1)[0]
    if not setting or not path or label.endswith("#"):
        raise InputError(f"--run {spec}: expected SETTING=PATH or SETTING#SEED=PATH")
    return label, setting, path


def parse_word_line(path, n, line):
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) != 4:
        raise InputError(f"{path}:{n}: malformed line (expected 4 tab-separated fields "
                         f"chapter, start_s, end_s, word; got {len(fields)}): {line.strip()!r}")
    chapter, a, b, word = fields
    try:
        start, end = float(a), float(b)
    except ValueError:
        raise InputError(f"{path}:{n}: malformed line (start_s/end_s not numbers): "
                         f"{line.strip()!r}")
    if not (math.isfinite(start) and math.isfinite(end)) or end < start or not word.strip() \
            or not chapter:
        raise InputError(f"{path}:{n}: malformed line (empty field, or end_s < start_s): "
                         f"{line.strip()!r}")
    return chapter, start, end, word


def read_words(path, corpus):
    """{chapter: [(start, end, WORD), ...]} of a words TSV, in start time order."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: words TSV not found")
    words = {}
    with open(path, encoding="utf-8") as f:
        header = f.readline()
        if header.rstrip("\r\n").split("\t") != ["chapter", "start_s", "end_s", "word"]:
            raise InputError(f"{path}:1: expected the header line "
                             "'chapter<TAB>start_s<TAB>end_s<TAB>word'")
        for n, line in enumerate(f, 2):
            if not line.strip():
                continue
            chapter, start, end, word = parse_word_line(path, n, line)
            if chapter not in corpus:
                raise InputError(f"{path}:{n}: chapter {chapter} is not in the corpus")
            for w in stats.normalize_words(word):
                words.setdefault(chapter, []).append((start, end, w))
    return {c: sorted(ws, key=lambda w: w[0]) for c, ws in words.items()}


def score_run(label, path, corpus):
    """{"chapters": (C, 4) array of word errors, ref words, char errors, ref chars;
    "utts": (U,) per-utterance char errors over all chapters in corpus order}."""
    words = read_words(path, corpus)
    rows, utt_err = [], []
    for chapter, info in corpus.items():
        hyp = words.get(chapter, [])
        if chapter not in words:
            print(f"warning: run {label} ({path}) has no word for chapter {chapter}: "
                  "scored as an empty hypothesis", file=sys.stderr)
        rows.append(stats.score(info["ref"], [w[2] for w in hyp]))
        utt_err += [u[0] for u in stats.utterance_char_errors(info["utts"], hyp)]
    return {"chapters": np.array(rows, dtype=np.float64), "utts": np.array(utt_err, np.float64)}


def group_settings(runs, baseline):
    """[(setting, [labels])], the baseline first, then in order of first appearance."""
    groups = {}
    for label, setting, _ in runs:
        groups.setdefault(setting, []).append(label)
    if baseline not in groups:
        raise InputError(f"--baseline {baseline}: no --run of that setting "
                         f"(settings: {', '.join(groups)})")
    return [(baseline, groups[baseline])] + [(s, l) for s, l in groups.items() if s != baseline]


# ---- study ----

def study_row(name, seeds, counts, base, weights, seed_counts=None):
    """One study.csv row; counts/base: (C, 4) per-chapter arrays (errors may be seed means)."""
    we, rw, ce, rc = counts.T
    d_wer = stats.paired_bootstrap(weights, we, base[:, 0], rw)
    d_cer = stats.paired_bootstrap(weights, ce, base[:, 2], rc)
    row = {"setting": name, "seeds": seeds, "chapters": len(counts), "ref_words": int(rw.sum()),
           "ref_chars": int(rc.sum()), "wer": stats.rate(we, rw), "cer": stats.rate(ce, rc),
           "d_wer": d_wer[0], "d_wer_lo": d_wer[1], "d_wer_hi": d_wer[2],
           "d_cer": d_cer[0], "d_cer_lo": d_cer[1], "d_cer_hi": d_cer[2],
           "chapters_better": float(np.mean(ce < base[:, 2])),  # same reference chars
           "significant": d_cer[1] > 0 or d_cer[2] < 0}
    if seed_counts:
        wers = [stats.rate(c[:, 0], c[:, 1]) for c in seed_counts]
        cers = [stats.rate(c[:, 2], c[:, 3]) for c in seed_counts]
        row.update(wer_seed_min=min(wers), wer_seed_max=max(wers),
                   cer_seed_min=min(cers), cer_seed_max=max(cers))
    return row


def build_study(settings, scored, weights):
    """(rows, {setting: mean per-chapter counts}, {setting: mean per-utterance char errors})."""
    means, utt_means = {}, {}
    for setting, labels in settings:
        means[setting] = np.mean([scored[lb]["chapters"] for lb in labels], axis=0)
        utt_means[setting] = np.mean([scored[lb]["utts"] for lb in labels], axis=0)
    base = means[settings[0][0]]
    rows = []
    for setting, labels in settings:
        multi = len(labels) > 1
        seed_counts = [scored[lb]["chapters"] for lb in labels] if multi else None
        rows.append(study_row(setting, len(labels), means[setting], base, weights, seed_counts))
        if multi:
            rows += [study_row(lb, 1, scored[lb]["chapters"], base, weights) for lb in labels]
    return rows, means, utt_means


# ---- outputs ----

STUDY_COLUMNS = ["setting", "seeds", "chapters", "ref_words", "ref_chars", "wer", "cer", "d_wer",
                 "d_wer_lo", "d_wer_hi", "d_cer", "d_cer_lo", "d_cer_hi", "chapters_better",
                 "significant", "wer_seed_min", "wer_seed_max", "cer_seed_min", "cer_seed_max"]


def csv_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.8f}"
    return v


def write_csv(path, columns, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        for row in rows:
            w.writerow([csv_value(row.get(c, "")) for c in columns])


def pct(v):
    return f"{100 * v:.2f}"


def diff_cell(row, key):
    return f"{100 * row[key]:+.2f} [{pct(row[key + '_lo'])}, {pct(row[key + '_hi'])}]"


def markdown(rows, args, corpus):
    minutes = sum(c["duration"] for c in corpus.values()) / 60
    lines = [f"Chapters: {len(corpus)}, audio: {minutes:.1f} min ({args.split}), "
             f"paired bootstrap over chapters: {args.bootstrap} resamples, seed {args.seed}, "
             f"baseline: {args.baseline} (differences in percentage points, 95% interval).", "",
             "| setting | seeds | WER % | CER % | ΔWER [95% CI] | ΔCER [95% CI] "
             "| chapters better | significant |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['setting']} | {r['seeds']} | {pct(r['wer'])} | {pct(r['cer'])} | "
                     f"{diff_cell(r, 'd_wer')} | {diff_cell(r, 'd_cer')} | "
                     f"{100 * r['chapters_better']:.0f}% | {'yes' if r['significant'] else 'no'} |")
    seeded = [r for r in rows if "cer_seed_min" in r]
    if seeded:
        lines += ["", "Seed spread (corpus rate of each seed run, min to max):", ""]
        lines += [f"- {r['setting']} ({r['seeds']} seeds): WER {pct(r['wer_seed_min'])} to "
                  f"{pct(r['wer_seed_max'])} %, CER {pct(r['cer_seed_min'])} to "
                  f"{pct(r['cer_seed_max'])} %" for r in seeded]
    return "\n".join(lines) + "\n"


def write_chapters(path, runs, scored, corpus):
    rows = []
    for label, setting, _ in runs:
        for chapter, c in zip(corpus, scored[label]["chapters"]):
            rows.append({"run": label, "setting": setting, "chapter": chapter,
                         "word_errors": int(c[0]), "ref_words": int(c[1]),
                         "char_errors": int(c[2]), "ref_chars": int(c[3])})
    write_csv(path, ["run", "setting", "chapter", "word_errors", "ref_words", "char_errors",
                     "ref_chars"], rows)


def position_curves(settings, utt_means, corpus, chunk_seconds):
    """{setting: [(chunk_index, utterances, ref_chars, char_errors, cer)]}."""
    utts = [u for info in corpus.values() for u in info["utts"]]
    curves = {}
    for setting, _ in settings:
        per_utt = [(e, len(" ".join(u[2])), u[0]) for e, u in zip(utt_means[setting], utts)]
        curves[setting] = stats.position_curve(per_utt, chunk_seconds)
    return curves


def write_position(out, curves, baseline, chunk_seconds):
    rows = [{"setting": s, "chunk_index": k, "start_s": round(k * chunk_seconds, 6),
             "utterances": n, "ref_chars": ref, "cer": cer}
            for s, curve in curves.items() for k, n, ref, _, cer in curve]
    write_csv(os.path.join(out, "position.csv"),
              ["setting", "chunk_index", "start_s", "utterances", "ref_chars", "cer"], rows)
    xlabel = f"LaCT chunk index the utterance starts in (chunk = {chunk_seconds:g} s)"
    series = [(s, [(k, 100 * cer) for k, _, _, _, cer in c]) for s, c in curves.items()]
    with open(os.path.join(out, "position.svg"), "w", encoding="utf-8") as f:
        f.write(svg.line_chart(series, "CER by position in the stream", xlabel, "CER %"))
    base = {k: cer for k, _, _, _, cer in curves[baseline]}
    delta = [(s, [(k, 100 * (cer - base[k])) for k, _, _, _, cer in c])
             for s, c in curves.items() if s != baseline]
    with open(os.path.join(out, "position_delta.svg"), "w", encoding="utf-8") as f:
        f.write(svg.line_chart(delta, f"CER difference vs {baseline} by position", xlabel,
                               f"CER(setting) - CER({baseline}), points", zero_line=True))


def run(args):
    runs = [parse_run(s) for s in args.run]
    labels = [r[0] for r in runs]
    dup = sorted({lb for lb in labels if labels.count(lb) > 1})
    if dup:
        raise InputError(f"--run label given twice: {', '.join(dup)}")
    for _, _, path in runs:
        if not os.path.isfile(path):
            raise InputError(f"{path}: words TSV not found")
    settings = group_settings(runs, args.baseline)
    corpus = read_corpus(args.corpus, args.split)
    print(f"corpus: {len(corpus)} chapters", file=sys.stderr)
    scored = {}
    for label, _, path in runs:
        print(f"scoring {label} ({path})", file=sys.stderr)
        scored[label] = score_run(label, path, corpus)
    weights = stats.resample_weights(np.random.default_rng(args.seed), len(corpus),
                                     args.bootstrap)
    rows, _, utt_means = build_study(settings, scored, weights)
    os.makedirs(args.out, exist_ok=True)
    write_csv(os.path.join(args.out, "study.csv"), STUDY_COLUMNS, rows)
    write_chapters(os.path.join(args.out, "chapters.csv"), runs, scored, corpus)
    md = markdown(rows, args, corpus)
    with open(os.path.join(args.out, "study.md"), "w", encoding="utf-8") as f:
        f.write(md)
    curves = position_curves(settings, utt_means, corpus, args.chunk_seconds)
    write_position(args.out, curves, args.baseline, args.chunk_seconds)
    sys.stdout.write(md)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except InputError as e:
        print(f"lact_study_report: error: {e}", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError) as e:
        print(f"lact_study_report: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
