#!/usr/bin/env bash
# lact_transcribe --max_alternatives with --format json (issue 21), demo model with its LM, on an
# espeak-ng sentence, offline and --streaming: each segment has a confidence in [0, 1], its words
# theirs, and up to N-1 alternatives (distinct from the text and each other, confidences ranked
# and in [0, 1]); the text is the one --max_alternatives 1 gives; out-of-range values exit 2.
# Calibration: each word's confidence is the model's confidence.json map (beam section, or the
# greedy one with --decoder greedy) of its --calibrate_confidence=false value, offline (the whole-
# utterance decode) and streaming.
set -euo pipefail
BIN=${LACT_BIN:?}
SRC=${LACT_SRC:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
espeak-ng -v en-us -s 150 -w "$tmp/s.wav" "the old man walked slowly to the little church on the hill"
T="$BIN/core/lact_transcribe --model $SRC/models/demo --format json"
for mode in offline streaming; do
  extra=(); [ "$mode" = streaming ] && extra=(--streaming)
  $T "${extra[@]}" --max_alternatives 4 "$tmp/s.wav" > "$tmp/$mode-4.json"
  $T "${extra[@]}" "$tmp/s.wav" > "$tmp/$mode-1.json"
  $T "${extra[@]}" --max_alternatives 4 --calibrate_confidence=false "$tmp/s.wav" > "$tmp/$mode-raw.json"
  $T "${extra[@]}" --decoder greedy "$tmp/s.wav" > "$tmp/$mode-greedy.json"
  $T "${extra[@]}" --decoder greedy --calibrate_confidence=false "$tmp/s.wav" > "$tmp/$mode-greedy-raw.json"
done
/usr/bin/python3 - "$tmp" <<'PY' || fail "json"
import json, sys
tmp = sys.argv[1]
several = 0
for mode in ("offline", "streaming"):
    four, one = json.load(open(f"{tmp}/{mode}-4.json")), json.load(open(f"{tmp}/{mode}-1.json"))
    assert four["text"] == one["text"] and four["text"], (four["text"], one["text"])
    for seg in four["segments"]:
        assert 0 <= seg["confidence"] <= 1, seg
        for w in seg["words"]:
            assert 0 <= w["confidence"] <= 1, w
        alts = seg.get("alternatives", [])
        assert len(alts) <= 3
        texts = [seg["text"]] + [a["text"] for a in alts]
        assert len(set(texts)) == len(texts), texts
        confs = [seg["confidence"]] + [a["confidence"] for a in alts]
        assert all(0 <= c <= 1 for c in confs) and confs == sorted(confs, reverse=True), confs
        several += len(alts) > 0
    for seg in one["segments"]:
        assert "alternatives" not in seg
assert several >= 2, "both modes listed alternatives"
print("ok   alternatives and confidences in lact_transcribe's JSON")
PY
/usr/bin/python3 - "$tmp" "$SRC/models/demo/confidence.json" <<'PY' || fail "calibration"
import json, math, sys
tmp, maps = sys.argv[1], json.load(open(sys.argv[2]))
def mapped(section, raw):  # docs/language_model.md, "Calibration"
    m = maps[section]["word"]
    p = min(max(raw, 1e-6), 1 - 1e-6)
    return 1 / (1 + math.exp(-(m["a"] * math.log(p / (1 - p)) + m["b"])))
words = moved = 0
for mode in ("offline", "streaming"):
    for cal, raw, section in ((f"{mode}-4", f"{mode}-raw", "beam"),
                              (f"{mode}-greedy", f"{mode}-greedy-raw", "greedy")):
        a, b = json.load(open(f"{tmp}/{cal}.json")), json.load(open(f"{tmp}/{raw}.json"))
        assert a["text"] == b["text"], (a["text"], b["text"])
        for sa, sb in zip(a["segments"], b["segments"]):
            for wa, wb in zip(sa["words"], sb["words"]):
                # The JSON rounds to 4 decimals: the map of the raw value's rounding interval.
                lo, hi = (mapped(section, wb["confidence"] + d) for d in (-5e-5, 5e-5))
                assert lo - 1e-4 <= wa["confidence"] <= hi + 1e-4, (section, wa, wb, lo, hi)
                words += 1
                moved += abs(wa["confidence"] - wb["confidence"]) > 1e-3
assert words > 20 and moved > 0, (words, moved)
print(f"ok   {words} word confidences are the model's map of the raw ones")
PY
for bad in 0 11; do
  set +e; $T --max_alternatives "$bad" "$tmp/s.wav" > /dev/null 2> "$tmp/err"; code=$?; set -e
  [ "$code" = 2 ] && grep -q max_alternatives "$tmp/err" || fail "--max_alternatives $bad: exit $code"
done
echo "transcribe_alternatives_test: OK"
