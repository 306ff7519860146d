// Public entry of darray: re-exports only. What is exported here is the contract in the design's api.md.
export * from './errors.js';
