// Tile storage of DArrays: the per-rank memory limit, LRU spilling to a private directory, lazy tiles.

export { setMemoryLimit, memoryLimit, parseBytes } from './limit.js';
export { SpillError } from './spill-files.js';
export { tileStore, TileEntry, type StoreStats, type TileSource } from './tile-store.js';
export { TileMap } from './tile-map.js';
