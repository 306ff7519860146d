#!/usr/bin/python3
"""Single-process references for bench/graph.ts: scipy.sparse matvec and PageRank iterations (networkx's own
scipy loop), scipy.sparse.csgraph BFS TEPS, and networkx.pagerank itself (capped: see --nx-max-scale).

  graph_ref.py DIR SCALE ITERS ROOTS NX REPS   DIR holds rowptr.i32 and col.i32 (CSR of the symmetric
                                               graph); ROOTS comma-separated; NX 1 to time networkx too;
                                               each BFS root is timed REPS times
Rates are one over the median time of one iteration (one BFS per root), like bench/graph.ts reports ours.
Prints one JSON object per line.
"""
import json
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order


def main():
    d, scale, iters, roots, with_nx, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == '1', int(sys.argv[6])
    rowptr = np.fromfile(f'{d}/rowptr.i32', dtype=np.int32)
    col = np.fromfile(f'{d}/col.i32', dtype=np.int32)
    n = len(rowptr) - 1
    A = sp.csr_array((np.ones(len(col)), col, rowptr), shape=(n, n))
    x = np.random.default_rng(0).random(n)
    A @ x
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        A @ x
        times.append(time.perf_counter() - t)
    print(json.dumps({'impl': 'scipy', 'test': 'matvec', 'scale': scale, 'nnz': int(len(col)), 'per_s': 1 / np.median(times)}))

    # networkx's _pagerank_scipy loop (networkx 3.x), on the same matrix.
    alpha = 0.85
    S = np.asarray(A.sum(axis=1)).ravel()
    S[S != 0] = 1.0 / S[S != 0]
    Q = sp.csr_array(sp.spdiags(S.T, 0, *A.shape))
    An = Q @ A
    x = np.repeat(1.0 / n, n)
    p = np.repeat(1.0 / n, n)
    is_dangling = np.where(S == 0)[0]
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        xlast = x
        x = alpha * (x @ An + sum(x[is_dangling]) * p) + (1 - alpha) * p
        np.absolute(x - xlast).sum()
        times.append(time.perf_counter() - t)
    print(json.dumps({'impl': 'scipy', 'test': 'pagerank', 'scale': scale, 'iters_per_s': 1 / np.median(times),
                      'iters_per_s_mean': iters / sum(times)}))

    teps = []
    for r in map(int, roots.split(',')):
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            order = breadth_first_order(A, r, directed=True, return_predecessors=False)
            times.append(time.perf_counter() - t)
        dt = np.median(times)
        edges = int((rowptr[order + 1] - rowptr[order]).sum()) // 2
        teps.append(edges / dt)
    print(json.dumps({'impl': 'scipy', 'test': 'bfs', 'scale': scale, 'teps': len(teps) / sum(1 / v for v in teps)}))

    if with_nx:
        import networkx as nx
        t = time.perf_counter()
        G = nx.from_scipy_sparse_array(A)
        build = time.perf_counter() - t
        t = time.perf_counter()
        try:
            nx.pagerank(G, alpha=alpha, max_iter=iters, tol=1e-300)
        except nx.PowerIterationFailedConvergence:
            pass
        dt = time.perf_counter() - t
        print(json.dumps({'impl': 'networkx', 'test': 'pagerank', 'scale': scale, 'iters_per_s': iters / dt,
                          'note': f'nx.pagerank for {iters} iterations, its graph-to-scipy conversion included; building the nx.Graph took {build:.1f} s (not included)'}))


if __name__ == '__main__':
    main()
