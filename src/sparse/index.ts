// Public names of the sparse layer (exposed as da.sparse): distributed CSR matrices and their constructors.
export { SparseMatrix } from './matrix.js';
export { fromEdges, readMatrixMarket, rmat, type FromEdgesOptions, type RmatOptions } from './construct.js';
export type { Combine } from './csr.js';
export { vectorLayout } from './partition.js';
