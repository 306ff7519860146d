"""Writes Zarr v2 stores with Debian's zarr-python for darray to read (python -> darray interop test).

Usage: /usr/bin/python3 zarr_write.py DIR. Values follow value(flat index) = (flat * 37 % 1009) - 500 (+ 0.25
for floats), the same formula the darray test computes; 'partial' writes only rows 0..2 so the other chunks
are missing and read as the fill value -1.5.
"""
import json
import sys

import numpy as np
import zarr
from numcodecs import GZip, Zlib


def values(shape, dtype):
    flat = np.arange(int(np.prod(shape)), dtype=np.int64)
    v = (flat * 37 % 1009) - 500
    v = v.astype(dtype)
    if np.dtype(dtype).kind == 'f':
        v = v + np.asarray(0.25, dtype=dtype)
    return v.reshape(shape)


CASES = [
    ('f8_none', (37, 29), (10, 8), 'f8', None),
    ('f4_zlib', (30, 17), (7, 5), 'f4', Zlib(level=5)),
    ('i4_gzip', (23,), (6,), 'i4', GZip(level=3)),
    ('i8_blosc', (12, 9), (5, 4), 'i8', 'default'),
    ('f8_3d', (5, 6, 7), (2, 4, 3), 'f8', Zlib(level=1)),
]


def main():
    out = sys.argv[1]
    for name, shape, chunks, dtype, comp in CASES:
        kw = {} if comp == 'default' else {'compressor': comp}
        z = zarr.open(f'{out}/{name}.zarr', mode='w', shape=shape, chunks=chunks, dtype=dtype, **kw)
        z[...] = values(shape, dtype)
    z = zarr.open(f'{out}/partial.zarr', mode='w', shape=(9, 8), chunks=(2, 3), dtype='f8', fill_value=-1.5,
                  compressor=None)
    z[0:3, :] = values((9, 8), 'f8')[0:3, :]
    print(json.dumps({'written': [c[0] for c in CASES] + ['partial']}))


if __name__ == '__main__':
    main()
