// Outcome of a tile kernel run off the JS thread: plain data, turned into a JS error on the JS thread
// (src/kernels/index.ts maps `code` to NotPositiveDefiniteError, SingularMatrixError or BackendError).
#pragma once
#include <string>

namespace darray {

enum class Code { kOk = 0, kNotPositiveDefinite, kSingular, kBackend, kInternal };

struct Status {
  Code code = Code::kOk;
  int column = -1;  // 0-based failing column for kNotPositiveDefinite / kSingular
  std::string message;

  bool ok() const { return code == Code::kOk; }
  static Status Ok() { return {}; }
  static Status NotPd(int column) { return {Code::kNotPositiveDefinite, column, "leading minor not positive"}; }
  static Status Singular(int column) { return {Code::kSingular, column, "zero pivot"}; }
  static Status Backend(std::string msg) { return {Code::kBackend, -1, std::move(msg)}; }
  static Status Internal(std::string msg) { return {Code::kInternal, -1, std::move(msg)}; }
};

inline const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "OK";
    case Code::kNotPositiveDefinite: return "NOT_POSITIVE_DEFINITE";
    case Code::kSingular: return "SINGULAR";
    case Code::kBackend: return "BACKEND";
    default: return "INTERNAL";
  }
}

}  // namespace darray
