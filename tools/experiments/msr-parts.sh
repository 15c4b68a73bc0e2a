#!/usr/bin/env bash
# A_MSR on one machine as the job-array flow of docs/RUNS.md ("msr: scoring the targets in parts"):
# generate the shards and train both GANs (--train-only), score the targets in PARTS processes at
# once (--shard K/PARTS, each target saved as soon as it is scored), merge, then the plain run writes
# result.json. Every step resumes, so a killed run continues where it stopped when this is run
# again with the same arguments. At the paper's scale this is hours (issue #20); on a 2-core machine
# use 2 parts of one thread each.
#
#   tools/experiments/msr-parts.sh DATASET RUN_DIR [PARTS] [-- EXTRA_FLAGS...]
#   e.g. tools/experiments/msr-parts.sh mnist runs/msr-paper-mnist-s0 2
#        tools/experiments/msr-parts.sh mnist runs/msr-smoke 2 -- --smoke --seed 1
#
# Run from anywhere: RUN_DIR is taken from the working directory. Each part's console output goes
# to RUN_DIR/part-K.log.
set -euo pipefail
usage="usage: msr-parts.sh DATASET RUN_DIR [PARTS] [-- EXTRA_FLAGS...]"
dataset=${1:?$usage}
dir=$(realpath -m "${2:?$usage}")
shift 2
parts=2
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  parts=$1
  shift
fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
case $parts in
'' | *[!0-9]* | 0)
  echo "msr-parts.sh: PARTS must be a positive whole number, got '$parts'" >&2
  exit 2
  ;;
esac

cd "$(dirname "$0")/../.."
leak() { npm run --silent leak -- msr --dataset "$dataset" --threads 1 --run-dir "$dir" "$@"; }

leak --train-only "$@" >/dev/null
pids=()
for k in $(seq 1 "$parts"); do
  leak --shard "$k/$parts" "$@" >"$dir/part-$k.log" 2>&1 &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if [ $failed -ne 0 ]; then
  echo "msr-parts.sh: a part failed; see $dir/part-*.log, then run this again" >&2
  exit 1
fi
npm run --silent leak -- merge --run-dir "$dir"
leak "$@"
