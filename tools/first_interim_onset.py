#!/usr/bin/env python3
"""Time to the first interim result, from the stream's start and from the speech onset.

  tools/first_interim_onset.py --results EVAL_OUT/results.csv --corpus DIR --split SPLIT

lact_eval_client's `first_interim_ms` counts from the stream's first audio message; utterances
start with silence (the synthetic corpus pads 0.1-0.45 s), and a partial cannot come before there
is speech. The onset of each utterance is estimated from its audio: the first 10 ms frame whose
RMS reaches 10% of the utterance's 95th-percentile frame RMS (20 dB below its loud speech). Noise
above that level counts as onset, so the estimate errs early and the latency from onset errs
high. Prints p50/p90 of both and writes nothing. Needs sox and numpy.
"""
import argparse
import csv
import os
import subprocess
import sys

import numpy as np

RATE = 16000
FRAME = RATE // 100  # 10 ms


def onset_ms(path):
    raw = subprocess.run(["sox", "-V1", path, "-t", "raw", "-e", "floating-point", "-b", "32",
                          "-r", str(RATE), "-c", "1", "-"], check=True, capture_output=True).stdout
    x = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    n = len(x) // FRAME
    if n == 0:
        return 0.0
    rms = np.sqrt(np.mean(x[: n * FRAME].reshape(n, FRAME) ** 2, axis=1))
    loud = np.percentile(rms, 95)
    hits = np.nonzero(rms >= 0.1 * loud)[0]
    return 10.0 * (hits[0] if len(hits) else 0)


def audio_path(corpus, split, utt):
    speaker, chapter, _ = utt.split("-")
    base = os.path.join(corpus, split, speaker, chapter, utt)
    for ext in (".flac", ".wav"):
        if os.path.exists(base + ext):
            return base + ext
    raise SystemExit(f"first_interim_onset: no audio for {utt} under {corpus}/{split}")


def pct(v, p):
    return float(np.percentile(np.array(v), p)) if v else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", required=True, help="lact_eval_client's results.csv")
    p.add_argument("--corpus", required=True, help="the LibriSpeech-layout folder it streamed")
    p.add_argument("--split", required=True)
    a = p.parse_args()
    start, onset, after = [], [], []
    for row in csv.DictReader(open(a.results)):
        first = float(row["first_interim_ms"])
        if first < 0:
            continue  # no interim result
        o = onset_ms(audio_path(a.corpus, a.split, row["id"]))
        start.append(first)
        onset.append(o)
        after.append(first - o)
    if not start:
        raise SystemExit("first_interim_onset: no stream had an interim result")
    print(f"streams with an interim result: {len(start)}")
    print(f"first interim from the stream's start  p50 {pct(start, 50):6.0f} ms  p90 {pct(start, 90):6.0f} ms")
    print(f"speech onset (estimated)               p50 {pct(onset, 50):6.0f} ms  p90 {pct(onset, 90):6.0f} ms")
    print(f"first interim from the speech onset    p50 {pct(after, 50):6.0f} ms  p90 {pct(after, 90):6.0f} ms")


if __name__ == "__main__":
    sys.exit(main())
