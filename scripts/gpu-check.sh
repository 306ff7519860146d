#!/usr/bin/env bash
# One prepared check for a machine with a GPU: build the addon, run the kernel tests on the GPU through OpenCL,
# then the kernel benchmark (13 minutes at most, every step under a timeout). Results go to $OUT (or
# ./gpu-check-out) as logs plus bench JSON lines.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$out"
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$HOME/.cache/pocl}"
status=0
step() { # step NAME SECONDS COMMAND...: run under a timeout, log to $out/NAME.log, remember failures
  local name=$1 secs=$2
  shift 2
  echo "== $name" | tee -a "$out/summary.txt"
  if timeout "$secs" "$@" >"$out/$name.log" 2>&1; then
    echo "   ok" | tee -a "$out/summary.txt"
  else
    echo "   FAILED (exit $?), see $name.log" | tee -a "$out/summary.txt"
    status=1
  fi
  tail -n 5 "$out/$name.log" | sed 's/^/   /'
}

{ nvidia-smi -L 2>/dev/null; clinfo -l 2>/dev/null; node --version; } >"$out/machine.txt" 2>&1
# NVIDIA's OpenCL ICD comes with the driver; without an ICD file the GPU is invisible to OpenCL.
ls /etc/OpenCL/vendors/ >>"$out/machine.txt" 2>&1

# Prerequisites: Node with this checkout's node_modules, the Debian build packages (see .ci/run) and an OpenCL
# ICD for the GPU. Missing ones are listed in prereq.log, and the steps that need them fail with their logs.
prereq() {
  local ok=0
  command -v node >/dev/null || { echo "missing: node"; ok=1; }
  [ -d node_modules/cmake-js ] || { echo "missing: node_modules (run npm ci where the registry is reachable)"; ok=1; }
  for h in /usr/include/clblast.h /usr/include/lapacke.h /usr/include/CL/cl.h; do
    [ -e "$h" ] || { echo "missing: $h (apt-get install libclblast-dev liblapacke-dev opencl-headers)"; ok=1; }
  done
  ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1 || { echo "missing: an OpenCL ICD in /etc/OpenCL/vendors"; ok=1; }
  return $ok
}
export -f prereq
step prereq 30 bash -c prereq
step build 240 npx cmake-js compile --out build
step libs 30 bash -c '! ldd build/Release/darray_native.node | grep "not found"'
step device 60 node -e "const n=require('./build/Release/darray_native.node');console.log(n.clDevices());console.log(n.clInit('gpu',0))"
# The cpu suite is skipped here: the GPU run is about the OpenCL backend.
step test-opencl-gpu 300 env DARRAY_BACKEND=opencl DARRAY_OPENCL_DEVICE=gpu DARRAY_OPENCL_FULL=1 \
  DARRAY_KERNELS_SKIP_CPU=1 npx mocha --no-config --node-option import=tsx --extension ts --timeout 300000 \
  test/unit/kernels-opencl.test.ts test/unit/kernels-errors.test.ts
step bench 240 env DARRAY_OPENCL_DEVICE=gpu npx tsx bench/kernels.ts --reps 3 --opencl-sizes 256,512,1024,2048
grep '^{' "$out/bench.log" >"$out/bench.jsonl" 2>/dev/null || true
echo "exit $status" | tee -a "$out/summary.txt"
exit $status
