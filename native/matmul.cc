// matmul dispatch and the portable scalar variant.
#include "matmul.h"

#include <algorithm>
#include <vector>

#include "cpu.h"
#include "quant.h"
#include "simd.h"

namespace tsd {

namespace {

void matmulScalar(float* y, const float* x, int64_t T, int type, int64_t rows, int64_t cols, const uint8_t* w,
                  float* scratch) {
  const size_t rb = rowBytes(type, cols);
  const int64_t tb = tokenBlock(cols);
  for (int64_t t0 = 0; t0 < T; t0 += tb) {
    const int64_t t1 = std::min(T, t0 + tb);
    for (int64_t r = 0; r < rows; r++) {
      dequantizeRow(type, w + static_cast<size_t>(r) * rb, scratch, cols);
      for (int64_t t = t0; t < t1; t++) y[t * rows + r] = dotScalar(x + t * cols, scratch, cols);
    }
  }
}

}  // namespace

void matmul(float* y, const float* x, int64_t T, int type, int64_t rows, int64_t cols, const uint8_t* w) {
  if (T <= 0 || rows <= 0) return;
  if (cols == 0) {
    std::fill(y, y + T * rows, 0.0f);
    return;
  }
  // per-thread f32 scratch for dequantised weight rows, 64-byte aligned
  thread_local std::vector<float> buffer;
  const int64_t stride = scratchStride(cols);
  const size_t need = static_cast<size_t>(kMaxPanelRows * stride + 16);
  if (buffer.size() < need) buffer.resize(need);
  const uintptr_t addr = reinterpret_cast<uintptr_t>(buffer.data());
  float* scratch = buffer.data() + ((64 - addr % 64) % 64) / sizeof(float);
  switch (currentIsa()) {
    case Isa::Avx512: matmulAvx512(y, x, T, type, rows, cols, w, scratch, stride); break;
    case Isa::Avx2: matmulAvx2(y, x, T, type, rows, cols, w, scratch, stride); break;
    case Isa::Scalar: matmulScalar(y, x, T, type, rows, cols, w, scratch); break;
  }
}

}  // namespace tsd
