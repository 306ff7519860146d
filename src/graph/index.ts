// Public names of the graph layer (exposed as da.graph): algorithms on da.sparse matrices.
export { pagerank, type PagerankOptions } from './pagerank.js';
export { bfs, type BfsOptions, type BfsResult } from './bfs.js';
export { connectedComponents } from './components.js';
export { triangleCount } from './triangles.js';
