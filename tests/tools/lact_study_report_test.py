#!/usr/bin/env python3
"""tools/lact_study_report.py on a tiny LibriSpeech-layout corpus it builds itself (sox tones):
5 chapters of 3 utterances (2.5 s, 3.0 s, 2.0 s: starts 0, 2.5, 5.5 s, so with 2 s chunks the
utterances fall in position buckets 0, 1, 2), each "THE CAT SAT" / "ON A MAT" / "DOGS RUN"
(8 words, 29 characters a chapter; 40 words and 145 characters in all). Expected counts, rates,
bootstrap intervals and position CERs are worked out by hand below. Also: edit distances agree
with the independent scorer tests/client/score_reference.py, the bootstrap is vectorised (fast),
and bad input exits 2 with a clear message. Run: /usr/bin/python3
tests/tools/lact_study_report_test.py (LACT_SRC = repository root; exit 77, skipped, without
sox or numpy)."""
import csv
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

SRC = os.environ.get("LACT_SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
TOOL = os.path.join(SRC, "tools", "lact_study_report.py")
CHAPTERS = ["11-100", "11-101", "12-200", "13-300", "13-301"]
UTTS = ["THE CAT SAT", "ON A MAT", "DOGS RUN"]
DURATIONS = [2.5, 3.0, 2.0]
STARTS = [0.0, 2.5, 5.5]
PERFECT = list(UTTS)


def make_corpus(root):
    tones = []
    for i, d in enumerate(DURATIONS):
        path = os.path.join(root, f"tone{i}.flac")
        subprocess.run(["sox", "-n", "-r", "16000", "-b", "16", path, "synth", str(d), "sine",
                        str(300 + 100 * i)], check=True)
        tones.append(path)
    for chapter in CHAPTERS:
        spk, chap = chapter.split("-")
        folder = os.path.join(root, "corpus", "test-tiny", spk, chap)
        os.makedirs(folder)
        lines = [f"{chapter}-{i:04d} {text}" for i, text in enumerate(UTTS)]
        if chapter == "12-200":
            lines.reverse()  # utterances are ordered by id, not by line
        with open(os.path.join(folder, f"{chapter}.trans.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        for i in range(len(UTTS)):
            shutil.copy(tones[i], os.path.join(folder, f"{chapter}-{i:04d}.flac"))
    return os.path.join(root, "corpus")


def write_run(root, name, hyps, extra=None, skip=()):
    """hyps: {chapter: [utterance 0 text, 1, 2]} (chapters not given: perfect); each
    utterance's words are spread evenly inside its span. extra: {chapter: raw lines} instead."""
    path = os.path.join(root, name + ".tsv")
    with open(path, "w") as f:
        f.write("chapter\tstart_s\tend_s\tword\n")
        for chapter in CHAPTERS:
            if chapter in skip:
                continue
            if extra and chapter in extra:
                f.write(extra[chapter])
                continue
            for k, text in enumerate(hyps.get(chapter, PERFECT)):
                words = text.split()
                step = DURATIONS[k] / (len(words) + 1)
                for j, w in enumerate(words):
                    t = STARTS[k] + step * (j + 0.5)
                    f.write(f"{chapter}\t{t:.3f}\t{t + step * 0.8:.3f}\t{w.lower()}\n")
    return path


def tool(*args):
    return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def close(a, b, tol=1e-7):
    return abs(float(a) - b) <= tol


def build_runs(tmp):
    cat = ["THE BAT SAT", "ON A MAT", "DOGS RUN"]  # 1 word, 1 char
    cat_ran = ["THE BAT SAT", "ON A MAT", "DOGS RAN"]
    ran = ["THE CAT SAT", "ON A MAT", "DOGS RAN"]
    shifted = ("11-100\t0.1\t0.5\tTHE\n11-100\t0.6\t1.0\tCAT\n"
               "11-100\t2.3\t3.0\tSAT\n"  # starts in utterance 0, midpoint 2.65 in utterance 1
               "11-100\t3.1\t3.3\tON\n11-100\t3.4\t3.5\tA\n11-100\t3.6\t4.0\tMAT\n"
               "11-100\t6.0\t6.5\tDOGS\n11-100\t7.4\t7.9\tRUN\n")  # midpoint past the end
    return [
        ("baseline", write_run(tmp, "baseline", {"11-100": cat})),
        ("perfect", write_run(tmp, "perfect", {})),
        ("same", write_run(tmp, "same", {"11-100": cat})),
        ("worse", write_run(tmp, "worse", {"11-100": cat_ran, **{c: ran for c in CHAPTERS[1:]}})),
        ("mixed", write_run(tmp, "mixed", {"11-101": cat})),
        ("avg#1", write_run(tmp, "avg1", {"11-100": cat})),
        ("avg#2", write_run(tmp, "avg2", {"11-100": cat_ran, "11-101": ran})),
        ("avg#3", write_run(tmp, "avg3", {"12-200": ["THE CAT SAT", "ON A MAT", "DOG RUN"]})),
        ("shifted", write_run(tmp, "shifted", {}, extra={"11-100": shifted})),
        ("edits", write_run(tmp, "edits", {"11-100": ["THE CAT SET", "ON MAT", "DOGS RUN FAST"]},
                            skip=("13-300",))),
    ]


def check_scores(out, r):
    rows = {(x["run"], x["chapter"]): x for x in read_csv(os.path.join(out, "chapters.csv"))}
    for c in CHAPTERS:  # 1. identical to the reference: no error
        assert rows[("perfect", c)]["word_errors"] == "0" and rows[("perfect", c)]["char_errors"] \
            == "0", rows[("perfect", c)]
        assert rows[("perfect", c)]["ref_words"] == "8" and rows[("perfect", c)]["ref_chars"] \
            == "29"
        assert rows[("shifted", c)]["char_errors"] == "0"  # time placement, same word order
    # SAT->SET (1 char), A deleted ("A " 2 chars), FAST inserted (" FAST" 5 chars).
    e = rows[("edits", "11-100")]
    assert (e["word_errors"], e["char_errors"]) == ("3", "8"), e
    # 5. the chapter missing from the run: warned about, scored as empty (all deletions).
    e = rows[("edits", "13-300")]
    assert (e["word_errors"], e["char_errors"]) == ("8", "29"), e
    assert "warning" in r.stderr and "13-300" in r.stderr, r.stderr
    assert rows[("avg#3", "12-200")]["char_errors"] == "1"  # DOGS->DOG, ordered by utt id


def check_study(out, stdout):
    rows = {x["setting"]: x for x in read_csv(os.path.join(out, "study.csv"))}
    b = rows["baseline"]
    assert close(b["cer"], 1 / 145) and close(b["wer"], 1 / 40), b
    # 2. identical to the baseline: difference 0, interval [0, 0].
    s = rows["same"]
    for k in ("d_cer", "d_cer_lo", "d_cer_hi", "d_wer", "d_wer_lo", "d_wer_hi"):
        assert float(s[k]) == 0.0, (k, s)
    assert s["significant"] == "false" and float(s["chapters_better"]) == 0
    # Worse by 1 char (and 1 word) in every chapter: every resample differs by 1/29 (1/8).
    w = rows["worse"]
    assert close(w["cer"], 6 / 145) and close(w["d_cer"], 5 / 145), w
    assert close(w["d_cer_lo"], 1 / 29) and close(w["d_cer_hi"], 1 / 29), w
    assert close(w["d_wer"], 5 / 40) and close(w["d_wer_lo"], 1 / 8), w
    assert w["significant"] == "true" and float(w["chapters_better"]) == 0
    # Better in 11-100, worse in 11-101 by the same amount: 0 difference, interval around 0.
    m = rows["mixed"]
    assert close(m["d_cer"], 0) and float(m["d_cer_lo"]) < 0 < float(m["d_cer_hi"]), m
    assert m["significant"] == "false" and close(m["chapters_better"], 1 / 5), m
    p = rows["perfect"]
    assert close(p["d_cer"], -1 / 145) and close(p["chapters_better"], 1 / 5), p
    # 3. three seeds: per-chapter char errors (1, 0, 0), (2, 1, 0), (0, 0, 1) -> mean 5/3 of 145.
    a = rows["avg"]
    assert a["seeds"] == "3" and close(a["cer"], 5 / 3 / 145) and close(a["wer"], 5 / 3 / 40), a
    assert close(a["cer_seed_min"], 1 / 145) and close(a["cer_seed_max"], 3 / 145), a
    assert close(rows["avg#2"]["cer"], 3 / 145) and rows["avg#2"]["seeds"] == "1"
    assert close(rows["avg#3"]["cer"], 1 / 145)
    with open(os.path.join(out, "study.md")) as f:
        md = f.read()
    assert md == stdout, "the table printed is study.md"
    assert "Chapters: 5" in md and "0.6 min" in md and "10000 resamples" in md, md
    assert "| worse | 1 | 15.00 | 4.14 | +12.50 [12.50, 12.50] | +3.45 [3.45, 3.45] |" in md, md


def check_position(out):
    pos = {(x["setting"], int(x["chunk_index"])): x
           for x in read_csv(os.path.join(out, "position.csv"))}
    # 4. 2 s chunks: utterances start at 0, 2.5, 5.5 s -> buckets 0, 1, 2 (5 utterances each).
    for k, ref in ((0, 55), (1, 40), (2, 40)):
        assert pos[("perfect", k)]["ref_chars"] == str(ref) and pos[("perfect", k)][
            "utterances"] == "5"
        assert float(pos[("perfect", k)]["cer"]) == 0
    assert ("perfect", 3) not in pos
    assert close(pos[("perfect", 1)]["start_s"], 2.0)
    # SAT (midpoint in utterance 1) leaves " SAT" missing from utterance 0 and adds "SAT " to
    # utterance 1: 4 char errors each; RUN past the stream's end goes to the last utterance.
    assert close(pos[("shifted", 0)]["cer"], 4 / 55), pos[("shifted", 0)]
    assert close(pos[("shifted", 1)]["cer"], 4 / 40), pos[("shifted", 1)]
    assert close(pos[("shifted", 2)]["cer"], 0)
    assert close(pos[("worse", 2)]["cer"], 5 / 40) and close(pos[("worse", 0)]["cer"], 1 / 55)
    ns = "{http://www.w3.org/2000/svg}"
    for name, n in (("position.svg", 8), ("position_delta.svg", 7)):
        root = ET.parse(os.path.join(out, name)).getroot()
        lines = root.findall(f".//{ns}polyline") + root.findall(f".//{ns}path")
        assert len(lines) == n, (name, len(lines))
        assert sum(1 for t in root.iter(f"{ns}text") if t.text == "shifted") == 1  # legend


def check_errors(tmp, corpus):
    base = ["--corpus", corpus, "--split", "test-tiny", "--out", os.path.join(tmp, "bad")]
    good = write_run(tmp, "good", {})

    def fails(path, *words):
        r = tool(*base, "--run", f"baseline={good}", "--run", f"x={path}")
        assert r.returncode == 2, (r.returncode, r.stderr)
        assert "Traceback" not in r.stderr, r.stderr
        for w in words:
            assert w in r.stderr, (w, r.stderr)

    unknown = os.path.join(tmp, "unknown.tsv")
    with open(unknown, "w") as f:
        f.write("chapter\tstart_s\tend_s\tword\n11-100\t0.1\t0.2\tTHE\n99-999\t0.1\t0.2\tA\n")
    fails(unknown, "99-999")
    bad = os.path.join(tmp, "bad.tsv")
    with open(bad, "w") as f:
        f.write("chapter\tstart_s\tend_s\tword\n11-100\t0.1\t0.2\tTHE\n11-100\t0.3\tCAT\n")
    fails(bad, "bad.tsv:3")
    with open(bad, "w") as f:
        f.write("chapter\tstart_s\tend_s\tword\n11-100\tsoon\t0.2\tTHE\n")
    fails(bad, "bad.tsv:2")
    fails(os.path.join(tmp, "missing.tsv"), "missing.tsv")
    r = tool(*base, "--run", f"lact={good}")  # no baseline run
    assert r.returncode == 2 and "baseline" in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = tool("--help")
    assert r.returncode == 0 and "--chunk_seconds" in r.stdout, r


def check_independent():
    """The edit distance matches score_reference.py; the bootstrap is vectorised."""
    sys.path.insert(0, os.path.join(SRC, "tests", "client"))
    sys.path.insert(0, os.path.join(SRC, "tools"))
    import numpy as np
    import score_reference as sr
    import lact_study_stats as st
    rng = random.Random(7)
    for _ in range(300):
        a = [rng.choice("AB C") for _ in range(rng.randint(0, 10))]
        h = [rng.choice("AB C") for _ in range(rng.randint(0, 10))]
        c = sr.align(a, h)
        assert st.edit_distance(a, h) == c["S"] + c["D"] + c["I"], (a, h)
    t = time.time()
    g = np.random.default_rng(0)
    weights = st.resample_weights(g, 30, 10000)
    ref = g.integers(500, 5000, 30)
    st.paired_bootstrap(weights, g.integers(0, 300, 30), g.integers(0, 300, 30), ref)
    assert time.time() - t < 0.5, time.time() - t
    assert weights.shape == (10000, 30) and (weights.sum(axis=1) == 30).all()


def main():
    if importlib.util.find_spec("numpy") is None:  # the tool needs it
        print("numpy not available: skipped")
        sys.exit(77)
    if shutil.which("sox") is None:
        print("sox not installed: skipped")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = make_corpus(tmp)
        runs = build_runs(tmp)
        out = os.path.join(tmp, "out")
        args = ["--corpus", corpus, "--split", "test-tiny", "--out", out, "--chunk_seconds", "2"]
        for label, path in runs:
            args += ["--run", f"{label}={path}"]
        r = tool(*args)
        assert r.returncode == 0, r.stderr
        check_scores(out, r)
        check_study(out, r.stdout)
        check_position(out)
        check_errors(tmp, corpus)
    check_independent()
    print("lact_study_report: OK")


if __name__ == "__main__":
    main()
