#!/usr/bin/env python3
"""The demo model on everyday English (issue 21, acceptance 1): WER of espeak-ng speech of
hand-written everyday sentences (tools/data/everyday/{test,dev}.txt, in no training or LM text),
greedy and with each given model folder's language model, offline and streaming; and --tune, a
grid over the LM weight, word score and unknown-word offset on the dev sentences.

  /usr/bin/python3 tools/lm_eval.py --build build --out /tmp/lm_eval \\
      --model demo=models/demo [--model austen=/tmp/austen_folder] [--set test] [--modes offline,streaming]
  /usr/bin/python3 tools/lm_eval.py --build build --out /tmp/lm_tune --model demo=models/demo --set dev --tune

Speech: each sentence in one of four espeak-ng voices and rates (tools/boost_eval.py's). References
and transcripts are compared in the model's alphabet (upper case, letters and the apostrophe).
Writes OUT/results.json and OUT/summary.md and prints the table. --tune decodes the dev set's
logits (dumped once) with every (alpha, beta, unk_score_offset) of the grid through a scratch
copy of the folder whose language_model/attrs.json holds them, and prints the best by WER.
"""
import argparse
import glob
import itertools
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from boost_eval import synthesize, transcribe, word_errors, write_table  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tools", "data", "everyday")
NOT_LETTER = re.compile(r"[^A-Z']+")
GRID = {"alpha": [0.5, 0.65, 0.8, 1.0], "beta": [0.0, 1.0, 2.0, 3.0],
        "unk_score_offset": [-10.0, -13.0, -17.0]}


def normalise(text):
    return " ".join(NOT_LETTER.sub(" ", text.upper()).split())


def read_set(name):
    with open(os.path.join(DATA, name + ".txt"), encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def read_corpus(folder):
    """(references, audio files) of a LibriSpeech-layout split (e.g. make_synthetic_corpus.py's)."""
    refs, files = [], []
    for trans in sorted(glob.glob(os.path.join(folder, "*", "*", "*.trans.txt"))):
        with open(trans, encoding="utf-8") as f:
            for line in f:
                uid, _, text = line.rstrip("\n").partition(" ")
                audio = glob.glob(os.path.join(os.path.dirname(trans), uid + ".*"))
                refs.append(normalise(text))
                files.append(audio[0])
    return refs, files


def wer(refs, hyps):
    errors = total = 0
    for ref, hyp in zip(refs, hyps):
        e, n = word_errors(ref, normalise(hyp))
        errors += e
        total += n
    return 100.0 * errors / max(total, 1), total


def scratch_folder(model, out_dir, attrs):
    """A folder of symlinks to `model`'s entries whose language_model/ links the LM files and
    holds `attrs` as attrs.json."""
    d = os.path.join(out_dir, "scratch_model")
    lm_dir = os.path.join(d, "language_model")
    os.makedirs(lm_dir, exist_ok=True)
    for base, names in ((model, os.listdir(model)),
                        (os.path.join(model, "language_model"),
                         os.listdir(os.path.join(model, "language_model")))):
        target = d if base == model else lm_dir
        for name in names:
            link = os.path.join(target, name)
            if name in ("language_model", "attrs.json") or os.path.lexists(link):
                continue
            os.symlink(os.path.abspath(os.path.join(base, name)), link)
    with open(os.path.join(lm_dir, "attrs.json"), "w") as f:
        json.dump(attrs, f)
    return d


def dump_logits(build, model, wavs, out_dir):
    exe = os.path.join(build, "core", "lact_transcribe")
    paths = []
    for wav in wavs:
        npy = os.path.join(out_dir, os.path.splitext(os.path.basename(wav))[0] + ".npy")
        if not os.path.exists(npy):
            subprocess.run([exe, "--model", model, "--decoder", "greedy", "--dump_logits", npy, wav],
                           check=True, capture_output=True)
        paths.append(npy)
    return paths


def parse_grid(text):
    """'alpha=0.8,1;beta=1;unk_score_offset=-17' over GRID (keys not named keep GRID's values)."""
    grid = dict(GRID)
    for item in filter(None, text.split(";")):
        key, _, values = item.partition("=")
        if key not in GRID:
            raise ValueError("unknown key %r (alpha, beta, unk_score_offset)" % key)
        grid[key] = [float(v) for v in values.split(",")]
    return grid


def tune(a, refs, wavs, label, model):
    logits = dump_logits(a.build, model, wavs, os.path.join(a.out, "audio"))
    rows = []
    for alpha, beta, offset in itertools.product(*a.grid.values()):
        attrs = {"alpha": alpha, "beta": beta, "unk_score_offset": offset}
        folder = scratch_folder(model, a.out, attrs)
        hyps, _ = transcribe(a.build, folder, logits, ["--from_logits"])
        w, _ = wer(refs, [hyps[p] for p in logits])
        rows.append(dict(attrs, wer=w))
        print("alpha %.2f beta %.1f unk_score_offset %.0f: WER %.2f%%" % (alpha, beta, offset, w),
              flush=True)
    rows.sort(key=lambda r: r["wer"])
    with open(os.path.join(a.out, "tune.json"), "w") as f:
        json.dump({"model": label, "set": a.set, "grid": a.grid, "runs": rows}, f, indent=1)
    print("best on %s: %s" % (a.set, json.dumps(rows[0])))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build")
    p.add_argument("--out", required=True)
    p.add_argument("--model", action="append", default=[],
                   help="NAME=FOLDER, a model folder with language_model/ (repeatable)")
    p.add_argument("--set", default="test",
                   help="test or dev (tools/data/everyday), or a LibriSpeech-layout split folder")
    p.add_argument("--modes", default="offline,streaming")
    p.add_argument("--tune", action="store_true", help="grid search on --set (use dev)")
    p.add_argument("--grid", default="", help="--tune's grid, e.g. 'alpha=0.8,1;beta=1' "
                   "(default: %s)" % ";".join("%s=%s" % (k, ",".join(map(str, v)))
                                              for k, v in GRID.items()))
    p.add_argument("--limit", type=int, default=0, help="first N sentences (tests)")
    a = p.parse_args()
    try:
        a.grid = parse_grid(a.grid)
    except ValueError as e:
        p.error("--grid: %s" % e)
    models = [m.split("=", 1) for m in a.model] or [["demo", os.path.join(ROOT, "models", "demo")]]
    if any(len(m) != 2 or not os.path.isdir(m[1]) for m in models):
        p.error("--model: expected NAME=FOLDER with an existing folder")
    modes = a.modes.split(",")
    if not modes or any(m not in ("offline", "streaming") for m in modes):
        p.error("--modes: offline and/or streaming")
    audio = os.path.join(a.out, "audio")
    os.makedirs(audio, exist_ok=True)
    if a.set in ("test", "dev"):
        sentences = read_set(a.set)[:a.limit or None]
        refs = [normalise(s) for s in sentences]
        wavs = synthesize(sentences, a.set, audio)
    elif os.path.isdir(a.set):
        refs, wavs = read_corpus(a.set)
        refs, wavs = refs[:a.limit or None], wavs[:a.limit or None]
    else:
        p.error("--set: test, dev or a LibriSpeech-layout folder")
    if a.tune:
        return tune(a, refs, wavs, *models[0])
    runs = [("greedy", models[0][1], ["--decoder", "greedy"])]
    runs += [("beam, LM " + name, folder, ["--decoder", "beam"]) for name, folder in models]
    results = []
    for (setting, folder, extra), mode in itertools.product(runs, modes):
        args = extra + (["--streaming"] if mode == "streaming" else [])
        hyps, seconds = transcribe(a.build, folder, wavs, args)
        w, words = wer(refs, [hyps[x] for x in wavs])
        results.append({"setting": setting, "mode": mode, "model": folder, "args": args,
                        "wer": w, "words": words, "seconds": seconds,
                        "transcripts": {os.path.basename(x): hyps[x] for x in wavs}})
        print("%-28s %-9s WER %6.2f%%  (%d words, %.1f s)" % (setting, mode, w, words, seconds),
              flush=True)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"set": a.set, "sentences": len(refs), "runs": results}, f, indent=1)
    lines = ["| decoder | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    for setting, _, _ in runs:
        cells = ["%.2f%%" % r["wer"] for m in modes for r in results
                 if r["setting"] == setting and r["mode"] == m]
        lines.append("| %s | %s |" % (setting, " | ".join(cells)))
    write_table(a.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
