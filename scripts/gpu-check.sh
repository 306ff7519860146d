#!/usr/bin/env bash
# One prepared check for a machine with a GPU: the kernel tests on the GPU through OpenCL, the kernel benchmark
# (CLBlast on the GPU beside CPU BLAS on all cores) and the Cholesky demo on the GPU beside the CPU backend, every
# step under a timeout (about 9 minutes at most). On a bare machine without a registry, run scripts/gpu-pack.sh
# here first and carry .gpu and build/Release: the pack brings node, the libraries and node_modules.
# Results go to $OUT (or ./gpu-check-out): summary.txt, machine.txt, steps.log (every step's output), bench.jsonl.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$out"
status=0
step() { # step NAME SECONDS COMMAND...: run under a timeout, log to steps.log, remember failures
  local name=$1 secs=$2 t0=$SECONDS
  shift 2
  # CHECK_STEPS="a b" runs only the steps named (a rerun on what time is left).
  if [ -n "${CHECK_STEPS:-}" ] && [[ " $CHECK_STEPS " != *" $name "* ]]; then return 0; fi
  echo "===== $name: $*" >>"$out/steps.log"
  timeout -k 5 "$secs" "$@" >"$out/$name.tmp" 2>&1
  local rc=$?
  cat "$out/$name.tmp" >>"$out/steps.log"
  local verdict="ok"
  [ $rc -eq 0 ] || { verdict="FAILED exit $rc"; status=1; }
  echo "== $name: $verdict ($((SECONDS - t0)) s)" | tee -a "$out/summary.txt"
  tail -n 4 "$out/$name.tmp" | sed 's/^/   /' | tee -a "$out/summary.txt"
  rm -f "$out/$name.tmp"
  return $rc
}

if [ -e .gpu/pack.tar.xz ]; then
  mkdir -p /tmp/darray-gpu
  tar -C /tmp/darray-gpu -xJf .gpu/pack.tar.xz bin lib
  tar -xJf .gpu/pack.tar.xz node_modules
  export PATH="/tmp/darray-gpu/bin:$PWD/node_modules/.bin:$PATH" LD_LIBRARY_PATH="/tmp/darray-gpu/lib:${LD_LIBRARY_PATH:-}"
fi
# NVIDIA's OpenCL driver comes with the kernel driver; where no ICD file names it (an image may list only POCL),
# point the loader at a folder with one for it beside the listed ones.
if ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
  lib=$(find /usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib -name 'libnvidia-opencl.so*' 2>/dev/null | sort | head -n 1)
  if [ -n "$lib" ]; then
    mkdir -p /tmp/darray-gpu/icd && echo "$lib" >/tmp/darray-gpu/icd/nvidia.icd
    cp /etc/OpenCL/vendors/*.icd /tmp/darray-gpu/icd/ 2>/dev/null
    export OCL_ICD_VENDORS=/tmp/darray-gpu/icd
  fi
fi
{ nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; node --version; nproc
  echo "OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-}"; ls /etc/OpenCL/vendors/ "${OCL_ICD_VENDORS:-/nonexistent}"
  timeout 20 find / \( -path /proc -o -path /sys \) -prune -o \( -name 'libnvidia-opencl*' -o -name 'nvidia*.icd' \) -print
ldd build/Release/darray_native.node; } >"$out/machine.txt" 2>&1

# DARRAY_OPENCL_DEVICE and CHECK_N (the demo's size) can be set for a dry run where there is no GPU.
export DARRAY_OPENCL_DEVICE="${DARRAY_OPENCL_DEVICE:-gpu}"
n="${CHECK_N:-16384}"
step device 30 node -e "const n=require('./build/Release/darray_native.node');console.log(n.clDevices());console.log(n.clInit(process.env.DARRAY_OPENCL_DEVICE,0))" ||
  { echo "exit 1 (no GPU through OpenCL)" | tee -a "$out/summary.txt"; exit 1; }
step test-opencl-gpu 150 env DARRAY_BACKEND=opencl DARRAY_OPENCL_FULL=1 DARRAY_KERNELS_SKIP_CPU=1 \
  mocha --no-config --node-option import=tsx --extension ts --timeout 120000 \
  test/unit/kernels-opencl.test.ts test/unit/kernels-errors.test.ts
# The demo on one rank: the GPU backend (large tiles keep the device busy) beside the CPU backend on all cores
# (one rank, then four), and LAPACK's dpotrf on the whole matrix with all cores as the single-process reference.
step cholesky-gpu 120 tsx scripts/mpirun.ts -n 1 -x DARRAY_BACKEND=opencl examples/cholesky.ts "$n" 2048
step cholesky-cpu 100 tsx scripts/mpirun.ts -n 1 -x DARRAY_BACKEND=cpu examples/cholesky.ts "$n" 512
step cholesky-cpu-4-ranks 100 tsx scripts/mpirun.ts -n 4 -x DARRAY_BACKEND=cpu examples/cholesky.ts "$n" 512
cores=$(nproc)
step potrf-whole-matrix 60 env OPENBLAS_NUM_THREADS="$cores" DARRAY_KERNEL_THREADS="$cores" \
  tsx bench/linalg.ts --child-single cholesky "$n"
step bench 110 tsx bench/kernels.ts --sizes 512 --reps 3 --opencl-sizes 1024,2048,4096
grep -h '^{' "$out/steps.log" >"$out/bench.jsonl" 2>/dev/null || true
echo "exit $status" | tee -a "$out/summary.txt"
exit $status
