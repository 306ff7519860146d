// Public names of files and out-of-core: Zarr v2 save/load/open, .npy export, the memory limit and its errors.
// src/index.ts re-exports this module.

export { save, type SaveOptions } from './save.js';
export { load, type LoadOptions } from './load.js';
export { open, type OpenOptions } from './open.js';
export { saveNpy, toNpy } from './npy.js';
export type { Compression } from './zarr-format.js';
export { setMemoryLimit, memoryLimit } from '../store/index.js';
export { memoryStats } from '../store/index.js';
