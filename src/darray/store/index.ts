// Tile storage of DArrays: the per-rank memory limit, LRU spilling to a private directory, lazy tiles.

export { setMemoryLimit, memoryLimit, parseBytes } from './limit.js';
export { SpillError } from './spill-files.js';
export { tileStore, TileEntry, type StoreStats, type TileSource } from './tile-store.js';
export { TileMap, withTile } from './tile-map.js';

import { tileStore } from './tile-store.js';

/** This rank's tile memory: resident and spilled bytes, spill/restore/file-read counts, the limit. */
export const memoryStats = () => tileStore.stats();
