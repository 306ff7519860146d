#!/usr/bin/env bash
# Runs every benchmark one after the other (they would disturb each other in parallel) and keeps their JSON
# lines in bench/out/<name>.jsonl, with the machine's load average before each. Usage: scripts/bench-all.sh [names...]
set -uo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p bench/out
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(comm kernels darray linalg io graph ml)
for name in "${names[@]}"; do
  echo "== bench:$name (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  start=$(date +%s)
  npm run --silent "bench:$name" > "bench/out/$name.jsonl" 2> "bench/out/$name.err"
  echo "   exit $?, $(( $(date +%s) - start )) s, $(wc -l < "bench/out/$name.jsonl") lines" >&2
done
