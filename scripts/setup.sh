#!/usr/bin/env bash
# One-step set-up on a fresh Debian/Ubuntu machine: the native libraries darray builds against (through
# apt-get, only those missing), then `npm ci`, which also builds the native addon. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake g++ make pkg-config
  libopenblas-dev liblapacke-dev                       # CPU tile kernels
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd    # OpenCL backend; POCL is the CPU device without a GPU
  libclblast-dev
  openmpi-bin libopenmpi-dev libscalapack-openmpi-dev   # mpirun interoperability and benchmark references
  python3-zarr python3-dask python3-numpy              # Zarr interoperability tests
  python3-networkx python3-scipy                       # graph algorithm references
  iproute2 procps
)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
