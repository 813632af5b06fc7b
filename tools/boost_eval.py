#!/usr/bin/env python3
"""Phrase boosting measured (issue 21, acceptance 2): term recall on sentences with rare names
and terms, and WER on sentences without them, each decoded without and with the boost list, with
the model folder's language model and without one (a copy of the folder without language_model/).

  /usr/bin/python3 tools/boost_eval.py --build build --model models/demo --out /tmp/boost [--streaming]

Speech: espeak-ng, each sentence in one of several voices and rates (tools/data/boost/*.txt:
term_sentences.txt, plain_sentences.txt; the boost list terms.txt). Decoding: lact_transcribe
(offline; --streaming: through the streaming window). Writes OUT/results.json and OUT/summary.md
(a table), and prints the table. A term counts as recalled when its words appear, in order and
adjacent, in the transcript of a sentence whose reference has them.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tools", "data", "boost")
VOICES = [("en-us", 150), ("en-gb", 165), ("en-us+f3", 140), ("en-gb+m3", 175)]


def read_lines(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def terms():
    return [l.rsplit(":", 1)[0].upper().split() for l in read_lines("terms.txt")]


def synthesize(sentences, prefix, out_dir):
    paths = []
    for i, text in enumerate(sentences):
        voice, rate = VOICES[i % len(VOICES)]
        wav = os.path.join(out_dir, "%s_%03d.wav" % (prefix, i))
        if not os.path.exists(wav):
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", wav, text], check=True)
        paths.append(wav)
    return paths


def model_without_lm(model, out_dir):
    """A folder with every entry of `model` but language_model/ (symlinks)."""
    d = os.path.join(out_dir, "model_no_lm")
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(model):
        link = os.path.join(d, name)
        if name != "language_model" and not os.path.lexists(link):
            os.symlink(os.path.abspath(os.path.join(model, name)), link)
    return d


def transcribe(build, model, wavs, extra):
    cmd = [os.path.join(build, "core", "lact_transcribe"), "--model", model] + extra + wavs
    t0 = time.time()
    p = subprocess.run(cmd, check=True, capture_output=True, text=True)
    out = {}
    for line in p.stdout.splitlines():
        path, _, text = line.partition("\t")
        out[path] = text
    return out, time.time() - t0


def word_errors(ref, hyp):
    r, h = ref.split(), hyp.split()
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)], len(r)


def contains(words, term):
    n = len(term)
    return any(words[i:i + n] == term for i in range(len(words) - n + 1))


def score(refs, hyps, term_list):
    errors = total = hits = occurrences = 0
    for ref, hyp in zip(refs, hyps):
        e, n = word_errors(ref, hyp)
        errors += e
        total += n
        for t in term_list:
            if contains(ref.split(), t):
                occurrences += 1
                hits += contains(hyp.split(), t)
    return {"wer": 100.0 * errors / max(total, 1), "words": total,
            "term_recall": 100.0 * hits / occurrences if occurrences else None,
            "term_occurrences": occurrences}


def write_table(out_dir, lines):
    """The markdown table `lines` to OUT_DIR/summary.md and standard output."""
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build")
    p.add_argument("--model", default=os.path.join(ROOT, "models", "demo"))
    p.add_argument("--out", required=True)
    p.add_argument("--streaming", action="store_true", help="decode through the streaming window")
    p.add_argument("--limit", type=int, default=0, help="first N sentences of each set (tests)")
    p.add_argument("--boost_file", default=os.path.join(DATA, "terms.txt"))
    a = p.parse_args()
    os.makedirs(os.path.join(a.out, "audio"), exist_ok=True)
    term_refs = read_lines("term_sentences.txt")
    plain_refs = read_lines("plain_sentences.txt")
    if a.limit:
        term_refs, plain_refs = term_refs[:a.limit], plain_refs[:a.limit]
    audio = os.path.join(a.out, "audio")
    sets = {"terms": (term_refs, synthesize(term_refs, "terms", audio)),
            "plain": (plain_refs, synthesize(plain_refs, "plain", audio))}
    term_list = terms()
    base = ["--streaming"] if a.streaming else []
    models = {"lm": a.model, "no_lm": model_without_lm(a.model, a.out)}
    runs = [("lm", "beam (LM)", []), ("lm", "beam (LM) + boost", ["--boost_file", a.boost_file]),
            ("no_lm", "greedy (no LM)", []),
            ("no_lm", "beam (no LM)", ["--decoder", "beam"]),
            ("no_lm", "beam (no LM) + boost", ["--boost_file", a.boost_file])]
    results = []
    for variant, name, extra in runs:
        wavs = sets["terms"][1] + sets["plain"][1]
        hyps, seconds = transcribe(a.build, models[variant], wavs, base + extra)
        row = {"setting": name, "model": variant, "args": base + extra, "seconds": seconds}
        for set_name, (refs, paths) in sets.items():
            row[set_name] = score([r.upper() for r in refs], [hyps[w] for w in paths], term_list)
        row["transcripts"] = {os.path.basename(w): hyps[w] for w in wavs}
        results.append(row)
        print("%-22s term recall %5.1f%%  WER terms %5.1f%%  WER plain %5.1f%%  (%.1f s)" % (
            name, row["terms"]["term_recall"], row["terms"]["wer"], row["plain"]["wer"], seconds),
            flush=True)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"model": a.model, "streaming": a.streaming, "voices": VOICES,
                   "term_sentences": len(term_refs), "plain_sentences": len(plain_refs),
                   "runs": results}, f, indent=1)
    lines = ["| setting | term recall | WER, term sentences | WER, plain sentences |",
             "|---|---|---|---|"]
    for r in results:
        lines.append("| %s | %.1f%% | %.1f%% | %.1f%% |" % (
            r["setting"], r["terms"]["term_recall"], r["terms"]["wer"], r["plain"]["wer"]))
    write_table(a.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
