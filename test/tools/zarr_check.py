"""Reads a darray-written Zarr v2 store with zarr-python and dask and checks it (darray -> python interop).

Usage: /usr/bin/python3 zarr_check.py CASES_JSON, a list of {store, dtype, shape, chunks, npy?}; values must
equal value(flat index) from zarr_write.py. With npy, the .npy file darray exported must hold the same array.
Prints one JSON line per case; exits 1 on any mismatch.
"""
import json
import sys

import dask.array as dsa
import numpy as np
import zarr

from zarr_write import values


def check(case):
    store, dtype, shape, chunks = case['store'], case['dtype'], tuple(case['shape']), tuple(case['chunks'])
    want = values(shape, dtype)
    z = zarr.open(store, mode='r')
    problems = []
    if z.shape != shape:
        problems.append(f'shape {z.shape} != {shape}')
    if z.chunks != chunks and shape != ():
        problems.append(f'chunks {z.chunks} != {chunks}')
    if z.dtype != np.dtype(dtype):
        problems.append(f'dtype {z.dtype} != {dtype}')
    got = z[...]
    if not np.array_equal(got, want):
        problems.append(f'zarr values differ (max |diff| {np.max(np.abs(got - want)) if got.shape == want.shape else "shape"})')
    d = dsa.from_zarr(store)
    if not np.array_equal(d.compute(), want):
        problems.append('dask values differ')
    if shape and float(d.sum().compute()) != float(want.sum()):
        problems.append('dask sum differs')
    if case.get('npy'):
        n = np.load(case['npy'])
        if n.dtype != np.dtype(dtype) or n.shape != shape or not np.array_equal(n, want):
            problems.append(f'npy differs: {n.dtype} {n.shape}')
    print(json.dumps({'store': store, 'ok': not problems, 'problems': problems}))
    return not problems


def main():
    results = [check(c) for c in json.loads(sys.argv[1])]
    sys.exit(0 if all(results) else 1)


if __name__ == '__main__':
    main()
