#!/usr/bin/env bash
# lact_transcribe --max_alternatives with --format json (issue 21), demo model with its LM, on an
# espeak-ng sentence, offline and --streaming: each segment has a confidence in [0, 1], its words
# theirs, and up to N-1 alternatives (distinct from the text and each other, confidences ranked
# and in [0, 1]); the text is the one --max_alternatives 1 gives; out-of-range values exit 2.
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
for bad in 0 11; do
  set +e; $T --max_alternatives "$bad" "$tmp/s.wav" > /dev/null 2> "$tmp/err"; code=$?; set -e
  [ "$code" = 2 ] && grep -q max_alternatives "$tmp/err" || fail "--max_alternatives $bad: exit $code"
done
echo "transcribe_alternatives_test: OK"
