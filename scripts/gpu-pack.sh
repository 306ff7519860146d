#!/usr/bin/env bash
# Packs what a bare GPU machine without a registry needs to run scripts/gpu-check.sh on this checkout: the node
# binary, the shared libraries the built addon links (OpenBLAS, LAPACKE, CLBlast, the OpenCL ICD loader) and the
# node_modules that the kernel tests, the kernel benchmark and the Cholesky demo load. Writes .gpu/pack.tar.xz
# (git-ignored through .git/info/exclude); the addon itself travels as build/Release.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -e build/Release/darray_native.node ] || { echo "build the addon first (npm run build)" >&2; exit 1; }
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/node_modules" .gpu
cp "$(readlink -f "$(command -v node)")" "$stage/bin/node"

# Every library ldd resolves outside the C/C++ runtime, under its soname (the file behind the symlink).
ldd build/Release/darray_native.node | awk '/=> \//{print $1, $3}' | while read -r soname path; do
  case "$soname" in libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|libpthread.so*|libdl.so*|ld-linux*) continue ;; esac
  cp "$(readlink -f "$path")" "$stage/lib/$soname"
done

# The dependency closure of the packages the checks load, from the lockfile; zeromq keeps only its linux-x64 build.
node -e '
const lock = require("./package-lock.json").packages, seen = new Set();
const walk = (n) => {
  const p = lock["node_modules/" + n];
  if (!p || seen.has(n)) return;
  seen.add(n);
  for (const d of Object.keys({ ...p.dependencies, ...p.optionalDependencies })) walk(d);
};
["mocha", "tsx", "zeromq", "msgpackr", "ndarray", "zarrita"].forEach(walk);
console.log([...seen].filter((n) => require("fs").existsSync("node_modules/" + n)).join("\n"));
' | while read -r pkg; do
  mkdir -p "$stage/node_modules/$(dirname "$pkg")"
  cp -a "node_modules/$pkg" "$stage/node_modules/$pkg"
done
rm -rf "$stage/node_modules/zeromq/build/darwin" "$stage/node_modules/zeromq/build/win32" \
  "$stage/node_modules/zeromq/build/linux/arm64" "$stage/node_modules/zeromq/src"
mkdir -p "$stage/node_modules/.bin"
ln -s ../mocha/bin/mocha.js "$stage/node_modules/.bin/mocha"
ln -s ../tsx/dist/cli.mjs "$stage/node_modules/.bin/tsx"

tar -C "$stage" -cf - bin lib node_modules | xz -T2 -6 >.gpu/pack.tar.xz
ls -l .gpu/pack.tar.xz
