// Device copies of host tiles, keyed by the host array's address: a tile used by consecutive kernels is
// uploaded once and written back only when the host asks (Sync) or the budget forces it out. Caller holds Lock().
#pragma once
#include "opencl/context.h"

namespace darray::ocl {

// Returns the device buffer for t, uploading on first use; evicts least recently used tiles (written back
// if dirty) to stay within the budget. Tiles touched by the current operation are never evicted.
Status Acquire(const Tile& t, cl_mem* out);
void MarkDirty(const Tile& t);
// Starts a new operation (the eviction guard above).
void BeginOp();
Status WriteBack(void* host);
void Drop(void* host);
std::vector<void*> CachedHosts();

}  // namespace darray::ocl
