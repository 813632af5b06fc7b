#!/usr/bin/env bash
# The LaCT study (issue 20, docs/lact_results.md) from a clean checkout in one command: a long-form
# synthetic corpus (train chapters for LaCT, dev and test chapters of unseen voices and sentences),
# the LaCT stack of models/demo trained with several seeds on cached encoder states, every setting
# decoded by lact_study_eval exactly as lact_server decodes a stream, and the report with paired
# bootstrap intervals and the per-position CER curve (tools/lact_study_report.py).
#
#   tools/lact_study.sh BUILD_DIR WORK_DIR [--seeds N] [--steps N] [--config FILE] [--ablations]
#                       [--joint N] [--quick]
#
#   --seeds N     training seeds per trained setting (default 3)
#   --steps N     optimizer steps per training run (default 600)
#   --config FILE the LaCT config to train (default train/configs/demo_lact.json)
#   --ablations   also train and decode one-change variants of the config: chunk_size 64/128/512,
#                 lr_scale 0.001/0.1, no momentum, Muon, one layer, and the training length: the
#                 main config trained for twice --steps (lact-<variant> settings; steps<2N>)
#   --joint N     also joint training: the top N encoder layers trained with the stack
#                 (lact_train --train_top_layers N), and its control, the same N layers fine-tuned
#                 the same way without LaCT (--mode top_layers)
#   --quick       a small corpus (2 train, 2 dev, 2 test chapters of 1 min) and 4 steps: checks the
#                 pipeline end to end (tests/cli/lact_study_test.sh does not run this; see below)
#   Env JOBS (default 2): runs side by side, each with one LibTorch thread (one thread is faster
#   than two per run on a 2-core machine).
#
# WORK_DIR keeps the corpus, the state cache and the runs, so a second invocation reuses them
# (a changed model, file or window is another cache key). Results: WORK_DIR/report/ (study.md,
# study.csv, chapters.csv, position.csv, position.svg, position_delta.svg) and WORK_DIR/runs/*.log.
#
# Settings (test chapters; decoding with the demo LM beam search unless named greedy):
#   baseline            LaCT off: the frozen demo model alone
#   no-ttt#S            the trained stack of seed S with its initial fast weights, never updated
#   lact#S              LaCT on, LACT_SCOPE_STREAM (the primary measure)
#   lact-<variant>#S    the same for an ablation variant (--ablations)
#   lact-utterance#S    LaCT on, LACT_SCOPE_UTTERANCE (state restarted after each endpoint)
#   joint<N>#S          --joint N: the top N layers trained with the stack, LaCT on
#   top<N>#S            --joint N: the top N layers fine-tuned without LaCT (joint's control)
#   greedy-baseline, greedy-lact#S   the same two, greedy decoding
set -euo pipefail
usage() { sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 2 ] || { usage >&2; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac
BUILD=$(cd "$1" && pwd); WORK=$2; shift 2
SEEDS=3; STEPS=600; QUICK=0; ABLATIONS=0; JOINT=0
SRC=${LACT_SRC:-$(cd "$(dirname "$0")/.." && pwd)}  # LACT_SRC: when run from a copy
CONFIG=$SRC/train/configs/demo_lact.json
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) SEEDS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --config) CONFIG=$(realpath "$2"); shift 2 ;;
    --quick) QUICK=1; shift ;;
    --ablations) ABLATIONS=1; shift ;;
    --joint) JOINT=$2; shift 2 ;;
    *) echo "lact_study: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
JOBS=${JOBS:-2}
PY=/usr/bin/python3
MODEL=$SRC/models/demo
mkdir -p "$WORK/runs"; WORK=$(cd "$WORK" && pwd)
t0=$(date +%s)
say() { echo "[lact_study $(( $(date +%s) - t0 )) s] $*" >&2; }

# 1. The corpus: train and dev chapters of ~4.5 min, test chapters of ~5 min (the shortest test
#    chapter is then >= 4 min: the generator's chapters vary by about -15%). Splits draw from
#    disjoint sentence and voice partitions (--partition_seed), and each split depends only on
#    --seed and its own sizes, so the two calls give the corpus one call would.
#    It is written to corpus.part and renamed when complete, so an interrupted generation starts
#    over instead of leaving half a corpus.
if [ ! -d "$WORK/corpus" ]; then
  rm -rf "$WORK/corpus.part"
  if [ "$QUICK" = 1 ]; then
    calls=("train,dev --chapters train=2,dev=2 --speakers train=2,dev=2 --chapter_minutes 1"
           "test --chapters test=2 --speakers test=2 --chapter_minutes 1")
  else
    calls=("train,dev --chapters train=40,dev=8 --speakers train=40,dev=8 --chapter_minutes 4.5"
           "test --chapters test=24 --speakers test=24 --chapter_minutes 5")
  fi
  for c in "${calls[@]}"; do
    say "corpus --splits $c"
    # shellcheck disable=SC2086
    "$PY" "$SRC/tools/make_synthetic_corpus.py" --out "$WORK/corpus.part" --long_form --splits $c \
      --seed 20 --jobs "$JOBS" --quiet 2>> "$WORK/runs/corpus.log" \
      || { cat "$WORK/runs/corpus.log" >&2; exit 1; }
  done
  mv "$WORK/corpus.part" "$WORK/corpus"
fi
[ "$QUICK" = 1 ] && STEPS=4

# Runs a command line per line of stdin, JOBS at a time; fails when one fails.
parallel() { xargs -d '\n' -P "$JOBS" -I{} bash -c {}; }
# A setting whose words file exists was decoded by an earlier invocation and is not run again
# (the file is renamed into place only when its run succeeded).
evaluate() {  # NAME MODEL_DIR SPLIT [lact_study_eval flags...]: one line for `parallel`
  local name=$1 model=$2 split=$3; shift 3
  [ -s "$WORK/runs/$name.tsv" ] && return 0
  echo "'$BUILD/train/lact_study_eval' --model '$model' --corpus '$WORK/corpus' --chapters $split" \
    "--state_cache '$WORK/cache' --threads 1 $* --words_out '$WORK/runs/$name.tsv.part'" \
    "2> '$WORK/runs/$name.log' && mv '$WORK/runs/$name.tsv.part' '$WORK/runs/$name.tsv'" \
    "|| { tail -3 '$WORK/runs/$name.log' >&2; exit 255; }"
}

# 2. The encoder states of the dev and test chapters (the baseline runs fill the cache), while the
#    training runs fill it for the train chapters.
say "baselines (filling the state cache for dev and test)"
{ evaluate baseline "$MODEL" test --lact off; evaluate dev-baseline "$MODEL" dev --lact off; } | parallel
# Trained settings: NAME and the changes to --config (JSON keys). `main` is the config as given;
# with --ablations each variant changes one thing (chosen on dev, reported on test).
variants=("main {}")
if [ "$ABLATIONS" = 1 ]; then
  variants+=('chunk64 {"chunk_size": 64}' 'chunk128 {"chunk_size": 128}' 'chunk512 {"chunk_size": 512}'
             'lr0.001 {"lr_scale": 0.001}' 'lr0.1 {"lr_scale": 0.1}' 'nomomentum {"use_momentum": false}'
             'muon {"use_muon": true}' 'layers1 {"num_lact_layers": 1}' "steps$(( 2 * STEPS )) {}")
fi
steps_of() { case "$1" in steps*) echo "${1#steps}" ;; *) echo "$STEPS" ;; esac; }  # NAME: its steps
mkdir -p "$WORK/configs"
for v in "${variants[@]}"; do
  "$PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); c.update(json.loads(sys.argv[2])); json.dump(c, open(sys.argv[3], "w"), indent=1)' \
    "$CONFIG" "${v#* }" "$WORK/configs/${v%% *}.json"
done
# An interrupted run continues from its last checkpoint (--resume) when the script is run again.
train_line() {  # NAME SEED FLAGS: one lact_train run, to runs/train-NAME-seedSEED
  local run=$1-seed$2 steps; steps=$(steps_of "$1")
  local every=$(( steps / 4 > 0 ? steps / 4 : 1 ))
  echo "'$BUILD/train/lact_train' $3 --base_model '$MODEL'" \
    "--data '$WORK/corpus' --train_split train --dev_split dev --utterances_per_example 16" \
    "--max_seconds 120 --batch_seconds 120 --max_steps $steps --warmup_steps $(( steps / 10 + 1 ))" \
    "--lr 1e-3 --eval_every $every --checkpoint_every $every --resume --log_every 20" \
    "--seed $2 --threads 1 --loader_threads 1 --state_cache '$WORK/cache-train'" \
    "--out '$WORK/runs/train-$run' 2> '$WORK/runs/train-$run.log'" \
    "|| { tail -3 '$WORK/runs/train-$run.log' >&2; exit 255; }"
}
trained() { [ -s "$WORK/runs/train-$1-seed$2/model.safetensors" ]; }  # the folder is written last
say "training ${#variants[@]} setting(s)$([ "$JOINT" -gt 0 ] && echo " + joint and its control") x $SEEDS seeds x $STEPS steps"
joint_line() {  # SEED: the joint run, then its control
  trained "joint$JOINT" "$1" || train_line "joint$JOINT" "$1" \
    "--mode lact --lact_config '$WORK/configs/main.json' --train_top_layers $JOINT"
  trained "top$JOINT" "$1" || train_line "top$JOINT" "$1" "--mode top_layers --train_top_layers $JOINT"
}
{
  # With --joint, one joint run first: its first epoch fills the window cache of the train
  # chapters (the slow part) while the other job trains LaCT-only variants, which need no window
  # entries; the other joint and control runs then start on a warm cache instead of all
  # computing the same entries at once.
  if [ "$JOINT" -gt 0 ]; then joint_line 1 | head -n 1; fi
  for v in "${variants[@]}"; do
    for s in $(seq 1 "$SEEDS"); do
      trained "${v%% *}" "$s" || train_line "${v%% *}" "$s" "--mode lact --lact_config '$WORK/configs/${v%% *}.json'"
    done
  done
  if [ "$JOINT" -gt 0 ]; then
    joint_line 1 | tail -n +2
    for s in $(seq 2 "$SEEDS"); do joint_line "$s"; done
  fi
} | parallel

# 3. Every setting on the test chapters (and each trained one on dev). Each run's model: the demo
#    folder + the trained stack (lact_train's folder carries the LM since 2026-12-05; this also
#    serves runs trained before that, in a reused WORK_DIR).
for v in "${variants[@]}"; do
  for s in $(seq 1 "$SEEDS"); do
    m=$WORK/runs/model-${v%% *}-seed$s
    mkdir -p "$m"
    for f in "$MODEL"/*; do ln -sfn "$f" "$m/$(basename "$f")"; done
    cp "$WORK/runs/train-${v%% *}-seed$s/lact_config.json" "$WORK/runs/train-${v%% *}-seed$s/lact.safetensors" "$m/"
  done
done
# Joint settings decode from the frozen model's cached windows below the trained layers (only
# their top layers run per chapter); one run per split fills those entries before the others.
joint_flags="--frozen_model '$MODEL' --trained_top_layers $JOINT"
if [ "$JOINT" -gt 0 ]; then
  say "window states below the top $JOINT layers (dev and test)"
  {
    evaluate "joint$JOINT-s1" "$WORK/runs/train-joint$JOINT-seed1" test --lact on $joint_flags
    evaluate "dev-joint$JOINT-s1" "$WORK/runs/train-joint$JOINT-seed1" dev --lact on $joint_flags
  } | parallel
fi
say "decoding the settings"
{
  if [ "$JOINT" -gt 0 ]; then
    for s in $(seq 1 "$SEEDS"); do
      for split in test dev; do
        p=""; if [ "$split" = dev ]; then p=dev-; fi
        evaluate "${p}joint$JOINT-s$s" "$WORK/runs/train-joint$JOINT-seed$s" $split --lact on $joint_flags
        evaluate "${p}top$JOINT-s$s" "$WORK/runs/train-top$JOINT-seed$s" $split --lact off $joint_flags
      done
    done
  fi
  evaluate greedy-baseline "$MODEL" test --lact off --decoder greedy
  for s in $(seq 1 "$SEEDS"); do
    m=$WORK/runs/model-main-seed$s
    evaluate "no-ttt-s$s" "$m" test --lact on --lact_updates=false
    evaluate "lact-utterance-s$s" "$m" test --lact on --lact_scope utterance
    evaluate "greedy-lact-s$s" "$m" test --lact on --decoder greedy
    for v in "${variants[@]}"; do
      evaluate "lact-${v%% *}-s$s" "$WORK/runs/model-${v%% *}-seed$s" test --lact on
      evaluate "dev-lact-${v%% *}-s$s" "$WORK/runs/model-${v%% *}-seed$s" dev --lact on
    done
  done
} | parallel

# 4. The report: LM decoding against the baseline, greedy against the greedy baseline.
report() {  # OUT SPLIT BASELINE RUN...
  local out=$1 split=$2 base=$3; shift 3
  local args=()
  for r in "$@"; do args+=(--run "$r"); done
  "$PY" "$SRC/tools/lact_study_report.py" --corpus "$WORK/corpus" --split "$split" --baseline "$base" \
    "${args[@]}" --out "$out" 2> "$out.log" || { cat "$out.log" >&2; exit 1; }
}
runs=(baseline="$WORK/runs/baseline.tsv")
joint=()  # --joint: joint training against its control
dev=(baseline="$WORK/runs/dev-baseline.tsv")
greedy=(greedy-baseline="$WORK/runs/greedy-baseline.tsv")
for s in $(seq 1 "$SEEDS"); do
  runs+=("lact#$s=$WORK/runs/lact-main-s$s.tsv" "no-ttt#$s=$WORK/runs/no-ttt-s$s.tsv"
         "lact-utterance#$s=$WORK/runs/lact-utterance-s$s.tsv")
  greedy+=("greedy-lact#$s=$WORK/runs/greedy-lact-s$s.tsv")
  for v in "${variants[@]:1}"; do runs+=("lact-${v%% *}#$s=$WORK/runs/lact-${v%% *}-s$s.tsv"); done
  for v in "${variants[@]}"; do dev+=("lact-${v%% *}#$s=$WORK/runs/dev-lact-${v%% *}-s$s.tsv"); done
  if [ "$JOINT" -gt 0 ]; then
    for n in "joint$JOINT" "top$JOINT"; do
      runs+=("$n#$s=$WORK/runs/$n-s$s.tsv")
      dev+=("$n#$s=$WORK/runs/dev-$n-s$s.tsv")
      joint+=("$n#$s=$WORK/runs/$n-s$s.tsv")
    done
  fi
done
mkdir -p "$WORK/report"
report "$WORK/report/lm" test baseline "${runs[@]}"
report "$WORK/report/greedy" test greedy-baseline "${greedy[@]}"
report "$WORK/report/dev" dev baseline "${dev[@]}"
[ "$JOINT" -gt 0 ] && report "$WORK/report/joint" test "top$JOINT" "${joint[@]}"
{
  echo "## Test chapters, LM beam search (the server's default decoding)"; echo
  cat "$WORK/report/lm/study.md"; echo
  echo "## Test chapters, greedy decoding"; echo
  cat "$WORK/report/greedy/study.md"; echo
  echo "## Dev chapters, LM beam search (where settings are chosen)"; echo
  cat "$WORK/report/dev/study.md"; echo
  if [ "$JOINT" -gt 0 ]; then
    echo "## Joint training against its control (top $JOINT layers without LaCT), test chapters"; echo
    cat "$WORK/report/joint/study.md"; echo
  fi
  echo "## Chosen on dev, reported on test"; echo
  # The LaCT-on setting (main config, an ablation or joint training) with the lowest dev CER (LM
  # beam search, seeds averaged), and its test row: dev's lact-main is test's lact.
  "$PY" - "$WORK/report/dev/study.csv" "$WORK/report/lm/study.csv" <<'PYCHOICE'
import csv, sys
dev = [r for r in csv.DictReader(open(sys.argv[1])) if "#" not in r["setting"]
       and (r["setting"].startswith("lact-") or r["setting"].startswith("joint"))]
test = {r["setting"]: r for r in csv.DictReader(open(sys.argv[2]))}
best = min(dev, key=lambda r: float(r["cer"]))
name = "lact" if best["setting"] == "lact-main" else best["setting"]
t = test[name]
pc = lambda k: 100 * float(t[k])
print(f"Lowest dev CER: **{best['setting']}** ({100 * float(best['cer']):.2f}% on dev, "
      f"{best['seeds']} seed(s); dev baseline in the table above). On test: CER {pc('cer'):.2f}%, "
      f"difference to the baseline {pc('d_cer'):+.2f} [{pc('d_cer_lo'):.2f}, {pc('d_cer_hi'):.2f}] "
      f"points: {'significant' if t['significant'] == 'true' else 'not significant'} "
      "(the interval excludes zero only when significant).")
PYCHOICE
  echo
  echo "## Training: dev CER by step (lact_train's dev evaluation: 16-utterance examples)"; echo
  names=(); for v in "${variants[@]}"; do names+=("${v%% *}"); done
  [ "$JOINT" -gt 0 ] && names+=("joint$JOINT" "top$JOINT")
  for v in "${names[@]}"; do
    for s in $(seq 1 "$SEEDS"); do
      echo "- $v seed $s: $(grep -o 'dev at step [0-9]*: CER [0-9.]*%' "$WORK/runs/train-$v-seed$s.log" | sed 's/dev at //' | paste -sd ';' -)"
    done
  done
} > "$WORK/report/study.md"
cat "$WORK/report/study.md"
say "done: $WORK/report/study.md"
