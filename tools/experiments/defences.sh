#!/usr/bin/env bash
# The defence grid of docs/DEFENCES.md: one attack on one data set, for each seed, undefended and
# under each output defence with both threat models, each in its own run folder. Resumable: a
# folder holding result.json is skipped, an unfinished one resumes (--run-dir), so a killed sweep
# continues where it stopped. Then `leak report` prints the table.
#
#   tools/experiments/defences.sh ATTACK DATASET OUT_DIR [SEEDS...]     (default seed: 0)
#   e.g. tools/experiments/defences.sh label mnist runs/defences 0 1 2
#
# Extra flags for every run go in $LEAK_FLAGS (e.g. LEAK_FLAGS=--smoke). DEFENCES overrides the list,
# THREATS the threat models (default: "adaptive non-adaptive").
set -euo pipefail
attack=${1:?usage: defences.sh ATTACK DATASET OUT_DIR [SEEDS...]}
dataset=${2:?usage: defences.sh ATTACK DATASET OUT_DIR [SEEDS...]}
out=${3:?usage: defences.sh ATTACK DATASET OUT_DIR [SEEDS...]}
shift 3
seeds=("${@:-0}")
[ ${#seeds[@]} -gt 0 ] || seeds=(0)
read -r -a defences <<<"${DEFENCES:-topk:3 topk:1 label round:2 round:1 noise:0.01 noise:0.1}"
read -r -a threats <<<"${THREATS:-adaptive non-adaptive}"
mkdir -p "$out"

run() { # folder, then the flags
  local dir=$1
  shift
  if [ -f "$dir/result.json" ]; then
    echo "done already: $dir"
    return
  fi
  # shellcheck disable=SC2086
  npm run --silent leak -- "$attack" --dataset "$dataset" --run-dir "$dir" $LEAK_FLAGS "$@" >/dev/null
  echo "finished: $dir"
}

LEAK_FLAGS=${LEAK_FLAGS:-}
for seed in "${seeds[@]}"; do
  run "$out/$attack-$dataset-s$seed-none" --seed "$seed"
  for d in "${defences[@]}"; do
    for threat in "${threats[@]}"; do
      run "$out/$attack-$dataset-s$seed-${d//:/_}-$threat" --seed "$seed" --defence "$d" --threat "$threat"
    done
  done
done
npm run --silent leak -- report "$out"
