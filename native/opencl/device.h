// The OpenCL side of the addon: one device, one in-order queue, a cache of device copies of host tiles, and
// the CLBlast calls. All entry points take one process-wide lock, so device work is serialised.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace darray::ocl {

struct DeviceInfo {
  std::string platform;
  std::string name;
  bool gpu = false;
  bool fp64 = false;
  uint64_t globalMem = 0;
  uint64_t cacheBudget = 0;
};

// A host tile as the device side sees it: the whole typed array (the cache key) plus the matrix view.
struct Tile {
  void* host = nullptr;
  size_t bytes = 0;
  size_t offset = 0;  // elements
  int ld = 1;
};

// Opens the device picked by spec ("" = a GPU if any else the first device, "gpu", "cpu", or an index over
// all platforms' devices). Idempotent for the same spec; throws std::runtime_error when nothing fits.
DeviceInfo Init(const std::string& spec, uint64_t cacheBudgetBytes);
bool Ready();
std::vector<std::string> ListDevices();

template <class T>
Status Gemm(bool transA, bool transB, int m, int n, int k, T alpha, Tile a, Tile b, T beta, Tile c);
template <class T>
Status Syrk(bool lower, bool trans, int n, int k, T alpha, Tile a, T beta, Tile c);
template <class T>
Status Trsm(bool left, bool lower, bool transA, bool unitDiag, int m, int n, T alpha, Tile a, Tile b);
template <class T>
Status Trmm(bool left, bool lower, bool transA, bool unitDiag, int m, int n, T alpha, Tile a, Tile b);
template <class T>
Status Axpy(int n, T alpha, Tile x, Tile y);
template <class T>
Status Scal(int n, T alpha, Tile x);

// Before a host kernel writes a tile: bring the device copy home if dirty and forget it (the host is newer).
Status HostTakes(Tile t);
// Writes dirty device copies back to the host (all when hosts is empty); device copies stay, now clean.
Status Sync(const std::vector<void*>& hosts);
// Forgets device copies without writing back (all when hosts is empty).
void Release(const std::vector<void*>& hosts);
// Bytes held on the device and number of cached tiles (for tests and the benchmark).
void CacheStats(uint64_t* bytes, uint64_t* tiles);

}  // namespace darray::ocl
