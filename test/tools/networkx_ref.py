#!/usr/bin/python3
"""Serial reference for the graph tests: networkx's own algorithms on a Matrix Market file, as JSON.

  networkx_ref.py export DIR          writes networkx's built-in graphs to DIR/*.mtx (run once; committed)
  networkx_ref.py ref FILE.mtx [SRC]  prints {"n", "pagerank", "levels", "components", "triangles"}
  networkx_ref.py refs JSON           JSON = [[file, [sources]], ...]: a list of the above, one start-up
Run it with /usr/bin/python3 (Debian's python3-networkx and python3-scipy).
"""
import json
import sys

import networkx as nx
import numpy as np
import scipy.io


def write_mtx(path, G, comment):
    """Undirected graphs as symmetric (lower triangle), directed as general; weights when the graph has them."""
    nodes = list(G.nodes())
    index = {v: i for i, v in enumerate(nodes)}
    weighted = any('weight' in d for _, _, d in G.edges(data=True))
    field = 'real' if weighted else 'pattern'
    sym = 'general' if G.is_directed() else 'symmetric'
    rows = []
    for u, v, d in G.edges(data=True):
        i, j = index[u] + 1, index[v] + 1
        if not G.is_directed() and j > i:
            i, j = j, i
        rows.append((i, j, float(d.get('weight', 1.0))))
    rows.sort()
    with open(path, 'w') as f:
        f.write(f'%%MatrixMarket matrix coordinate {field} {sym}\n')
        f.write(f'% {comment}\n')
        f.write(f'% vertex i is networkx node {nodes[:5]}... in G.nodes() order\n')
        f.write(f'{len(nodes)} {len(nodes)} {len(rows)}\n')
        for i, j, w in rows:
            f.write(f'{i} {j} {w!r}\n' if weighted else f'{i} {j}\n')


def export(outdir):
    write_mtx(f'{outdir}/karate.mtx', nx.karate_club_graph(), 'networkx karate_club_graph() (weighted, undirected)')
    write_mtx(f'{outdir}/lesmis.mtx', nx.les_miserables_graph(), 'networkx les_miserables_graph() (weighted, undirected)')
    write_mtx(f'{outdir}/florentine.mtx', nx.florentine_families_graph(), 'networkx florentine_families_graph() (undirected)')
    write_mtx(f'{outdir}/gn60.mtx', nx.gn_graph(60, seed=7), 'networkx gn_graph(60, seed=7): directed growing network with a dangling root')


def reference(path, sources):
    A = scipy.io.mmread(path).tocsr()
    with open(path) as f:
        banner = f.readline().lower().split()
    directed = banner[4] == 'general'
    G = nx.from_scipy_sparse_array(A, create_using=nx.DiGraph if directed else nx.Graph)
    n = A.shape[0]
    pr = nx.pagerank(G, alpha=0.85, tol=1e-13, max_iter=1000, weight='weight')
    levels = {}
    for s in sources:
        d = nx.single_source_shortest_path_length(G, s)
        levels[str(s)] = [d.get(v, -1) for v in range(n)]
    comps = nx.weakly_connected_components(G) if directed else nx.connected_components(G)
    label = np.zeros(n, dtype=np.int64)
    for c in comps:
        m = min(c)
        for v in c:
            label[v] = m
    out = {
        'n': n,
        'pagerank': [pr[v] for v in range(n)],
        'levels': levels,
        'components': label.tolist(),
    }
    if not directed:
        H = nx.Graph(G)
        H.remove_edges_from(nx.selfloop_edges(H))
        out['triangles'] = sum(nx.triangles(H).values()) // 3
    return out


if __name__ == '__main__':
    if sys.argv[1] == 'export':
        export(sys.argv[2])
    elif sys.argv[1] == 'ref':
        print(json.dumps(reference(sys.argv[2], [int(s) for s in sys.argv[3:]])))
    elif sys.argv[1] == 'refs':
        print(json.dumps([reference(f, srcs) for f, srcs in json.loads(sys.argv[2])]))
    else:
        sys.exit(__doc__)
