#!/usr/bin/env bash
# tools/streams_held.sh (issue 22) end to end on the demo model and the LibriSpeech sample: one CSV
# row and one table row per stream count, latencies measured (the first interim also from the
# speech onset), the server's cost columns (peak threads, CPU, context switches, model idle share,
# streams and encoder calls per model step, padding share), the client's own cost (CPU, peak
# threads: two per open stream), the "most streams held" line; the rule
# decides: with an impossible bound (INTERIM_MS=1: interim p95 <= 1 ms) nothing is held, here with
# a manifest as the corpus (one file named twice); a bad stream count is a usage error before any
# server starts. The first run pads windows into one encoder call (--window_batching padded), the
# strict one keeps the CPU's default (one call per window length, nothing padded).
source "$(dirname "$0")/server_lib.sh"  # BIN, SRC, $tmp (removed at exit), fail
SAMPLE=$SRC/../shared/data/librispeech-sample/LibriSpeech/test-clean
[ -d "$SAMPLE" ] || { echo "SKIP: no ../shared sample"; exit 77; }
if "$SRC/tools/streams_held.sh" "$BIN" "$SRC/models/demo" "$SAMPLE" . "$tmp/bad" 2 x > "$tmp/bad.log" 2>&1; then
  fail "a bad stream count was accepted"
fi
grep -q "bad stream count 'x'" "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "no message"; }
ROUNDS=1 "$SRC/tools/streams_held.sh" "$BIN" "$SRC/models/demo" "$SAMPLE" . "$tmp/out" 1 2 \
  -- --warmup_seconds 0 --window_batching padded > "$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; fail "run"; }
f=$(ls "$SAMPLE"/*/*/*.flac | head -1)
printf '%s\tA REFERENCE\n%s\tA REFERENCE\n' "$f" "$f" > "$tmp/manifest.tsv"
INTERIM_MS=1 ROUNDS=2 "$SRC/tools/streams_held.sh" "$BIN" "$SRC/models/demo" "$tmp/manifest.tsv" . "$tmp/strict" 1 \
  -- --warmup_seconds 0 > "$tmp/strict.log" 2>&1 || { cat "$tmp/strict.log"; fail "strict run"; }
/usr/bin/python3 - "$tmp" <<'PY' || { cat "$tmp/run.log"; fail "results"; }
import csv, sys
tmp = sys.argv[1]
rows = list(csv.DictReader(open(f"{tmp}/out/held.csv")))
assert [r["streams"] for r in rows] == ["1", "2"], rows
for r in rows:
    assert r["held"] in ("yes", "no"), r
    assert 0 < float(r["interim_p50_ms"]) <= float(r["interim_p95_ms"]), r
    assert float(r["final_p95_ms"]) <= float(r["final_max_ms"]), r
    assert r["failures"] == "0" and float(r["wall_s"]) > 0, r
    assert int(r["threads_peak"]) > 1 and float(r["cpu_s"]) > 0, r  # model thread + gRPC's
    assert int(r["ctx_switches_per_stream"]) > 0 and 0 <= float(r["model_idle_share"]) <= 1, r
    # A model step holds 1..N streams and makes 1..(its streams) encoder calls.
    assert 1 <= float(r["streams_per_step"]) <= int(r["streams"]), r
    assert 1 <= float(r["encoder_calls_per_step"]) <= float(r["streams_per_step"]), r
    # Padded: one call per step; padding is what shorter windows left of the longest.
    assert float(r["encoder_calls_per_step"]) == 1, r
    assert 0 <= float(r["padding_share"]) < 1, r
    # The server's (LibTorch loaded: hundreds of MiB), not its Python wrapper's (~10 MiB).
    assert int(r["host_rss_peak_mib"]) >= 100, r
    # The client: a sender and a reader per open stream, plus its main thread.
    assert float(r["client_cpu_s"]) > 0, r
    assert int(r["client_threads_peak"]) >= 2 * int(r["streams"]) + 1, r
table = open(f"{tmp}/out/held.md").read()
assert table.count("\n| ") >= 2 and "Most streams held: " in table, table
strict = list(csv.DictReader(open(f"{tmp}/strict/held.csv")))
assert len(strict) == 1 and strict[0]["held"] == "no", strict
assert float(strict[0]["padding_share"]) == 0, strict  # by_length: nothing padded
assert float(strict[0]["interim_p95_ms"]) > 1, strict  # the bound, not a failure, decided
assert "Most streams held: 0" in open(f"{tmp}/strict/held.md").read()
assert "interim p95 <= 1 ms" in open(f"{tmp}/strict/held.md").read()
assert sum(1 for _ in csv.DictReader(open(f"{tmp}/strict/n1/results.csv"))) == 2  # the manifest
# The eval client's first interim from the speech onset (client/speech_onset.h): never later than
# from the stream's start, and the sample's utterances start speaking within their first second.
import json
lat = json.load(open(f"{tmp}/out/n2/summary.json"))["settings"][0]["latency_ms"]
first, onset = lat["first_interim"], lat["first_interim_from_onset"]
assert onset["count"] == first["count"] > 0, lat
assert first["p50"] - 1000 <= onset["p50"] <= first["p50"], lat
print("ok   held:", [(r["streams"], r["held"], r["interim_p95_ms"]) for r in rows])
PY
echo "streams_held_test: OK"
