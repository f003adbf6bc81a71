// matmul dispatch (route, ISA, row chunks over the thread pool) and the portable scalar variant.
#include "matmul.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu.h"
#include "qmatmul.h"
#include "quant.h"
#include "simd.h"
#include "threadpool.h"

namespace tsd {

namespace {

/** Rows of work a chunk gets at least (multiply-adds), and below which a call stays on one thread. */
constexpr int64_t kChunkMacs = int64_t{1} << 18;
constexpr int64_t kMinParallelMacs = int64_t{1} << 16;
/** Chunks start at multiples of this many rows, so the kernels' row panels stay whole. */
constexpr int64_t kChunkAlign = 16;
/** Fewest tokens for which the integer route uses AMX tiles (when available). */
constexpr int64_t kAmxMinTokens = 12;

void matmulScalar(float* y, int64_t ldy, const float* x, int64_t T, int type, int64_t rows, int64_t cols,
                  const uint8_t* w, float* scratch) {
  const size_t rb = rowBytes(type, cols);
  const int64_t tb = tokenBlock(cols);
  for (int64_t t0 = 0; t0 < T; t0 += tb) {
    const int64_t t1 = std::min(T, t0 + tb);
    for (int64_t r = 0; r < rows; r++) {
      dequantizeRow(type, w + static_cast<size_t>(r) * rb, scratch, cols);
      for (int64_t t = t0; t < t1; t++) y[t * ldy + r] = dotScalar(x + t * cols, scratch, cols);
    }
  }
}

/** This thread's 64-byte aligned f32 scratch for kMaxPanelRows dequantised rows. */
float* panelScratch(int64_t stride) {
  thread_local std::vector<float> buffer;
  const size_t need = static_cast<size_t>(kMaxPanelRows * stride + 16);
  if (buffer.size() < need) buffer.resize(need);
  const uintptr_t addr = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + ((64 - addr % 64) % 64) / sizeof(float);
}

/** Quantised activations in the calling thread's buffer (read by every thread of the call). */
QActs quantizedActs(int type, const float* x, int64_t T, int64_t cols, Isa isa) {
  QActs a;
  a.type = type;
  a.T = T;
  a.Tp = (T + 15) / 16 * 16;
  a.cols = cols;
  a.nb = cols / 32;
  thread_local std::vector<uint8_t> buffer;
  const size_t qBytes = static_cast<size_t>(a.Tp * a.qStride());
  const size_t sBytes = static_cast<size_t>(a.Tp * a.nb) * 4;
  const size_t need = qBytes + 2 * sBytes + 64;
  if (buffer.size() < need) buffer.resize(need);
  uint8_t* base = buffer.data() + (64 - reinterpret_cast<uintptr_t>(buffer.data()) % 64) % 64;
  a.q = reinterpret_cast<int8_t*>(base);
  a.d = reinterpret_cast<float*>(base + qBytes);
  a.c = reinterpret_cast<int32_t*>(base + qBytes + sBytes);
  // padding tokens: zero activations and scales, so whole-tile kernels add nothing for them
  std::memset(a.q + T * a.qStride(), 0, static_cast<size_t>((a.Tp - T) * a.qStride()));
  std::fill(a.d + T * a.nb, a.d + a.Tp * a.nb, 0.0f);
  std::fill(a.c + T * a.nb, a.c + a.Tp * a.nb, 0);

  auto quantize = [&](int64_t t0, int64_t t1) {
    switch (isa) {
      case Isa::Avx512: return quantizeActsAvx512(a, x, t0, t1);
      case Isa::Avx2: return quantizeActsAvx2(a, x, t0, t1);
      case Isa::Scalar: return quantizeActs(a, x, t0, t1);
    }
  };
  const int64_t perChunk = std::max<int64_t>(1, 16384 / cols);
  const int64_t n = (T + perChunk - 1) / perChunk;
  if (n == 1 || T * cols < kMinParallelMacs) {
    quantize(0, T);
  } else {
    auto body = [&](int64_t i) { quantize(i * perChunk, std::min(T, (i + 1) * perChunk)); };
    parallelFor(n, body);
  }
  return a;
}

/** The packed form of natural-layout weights, in the calling thread's buffer (unpacked callers). */
const uint8_t* packedScratch(const QPackLayout& L, const uint8_t* w) {
  thread_local std::vector<uint8_t> buffer;
  const size_t need = static_cast<size_t>(L.bytes() + 64);
  if (buffer.size() < need) buffer.resize(need);
  uint8_t* base = buffer.data() + (64 - reinterpret_cast<uintptr_t>(buffer.data()) % 64) % 64;
  packQWeights(L, w, base);
  return base;
}

/** The integer route: Q8_0/Q4_0 weights (packed), activations quantised once, panels over threads. */
void qmatmul(float* y, const float* x, int64_t T, int type, int64_t rows, int64_t cols, const uint8_t* w,
             const uint8_t* packed, Isa isa) {
  const QPackLayout L(type, rows, cols);
  if (packed == nullptr) packed = packedScratch(L, w);
  const QActs qa = quantizedActs(L.kind, x, T, cols, isa);
  // AMX pays off once a tile of 16 tokens is mostly real; below that vpdpbusd over 16 rows wins
  const bool tiles = amxUsable() && isa == Isa::Avx512 && T >= kAmxMinTokens;
  const int threads = numThreads();
  const int64_t panelMacs = T * cols * kPanelRows;
  const int64_t fair = (L.panels + 2 * threads - 1) / (2 * threads);  // at least two chunks per thread
  int64_t per = std::min<int64_t>((kChunkMacs + panelMacs - 1) / panelMacs, fair);
  if (tiles) {
    // the AMX kernel works on panel pairs and prefetches the next pair of its chunk: a few pairs each
    per = std::min<int64_t>(std::max<int64_t>(per, 8), fair);
    per = std::max<int64_t>(2, (per + 1) / 2 * 2);
  } else {
    per = std::max<int64_t>(1, per);
  }
  const int64_t nChunks = (L.panels + per - 1) / per;
  auto body = [&](int64_t c) {
    const int64_t p0 = c * per;
    const int64_t n = std::min(per, L.panels - p0);
    if (tiles) return qmatmulAmx(y, rows, qa, L, p0, n, packed);
    switch (isa) {
      case Isa::Avx512: return qmatmulAvx512(y, rows, qa, L, p0, n, packed);
      case Isa::Avx2: return qmatmulAvx2(y, rows, qa, L, p0, n, packed);
      case Isa::Scalar: return qmatmulScalar(y, rows, qa, L, p0, n, packed);
    }
  };
  if (threads == 1 || nChunks == 1 || T * rows * cols < kMinParallelMacs) {
    for (int64_t c = 0; c < nChunks; c++) body(c);
  } else {
    parallelFor(nChunks, body);
  }
}

}  // namespace

int64_t packedWeightBytes(int type, int64_t rows, int64_t cols) { return QPackLayout(type, rows, cols).bytes(); }

void packWeights(int type, int64_t rows, int64_t cols, const uint8_t* w, uint8_t* dst) {
  packQWeights(QPackLayout(type, rows, cols), w, dst);
}

void matmul(float* y, const float* x, int64_t T, int type, int64_t rows, int64_t cols, const uint8_t* w,
            const uint8_t* packed) {
  if (T <= 0 || rows <= 0) return;
  if (cols == 0) {
    std::fill(y, y + T * rows, 0.0f);
    return;
  }
  const Isa isa = currentIsa();
  if (isIntMatmulType(type)) return qmatmul(y, x, T, type, rows, cols, w, packed, isa);
  const size_t rb = rowBytes(type, cols);

  const int threads = numThreads();
  const int64_t macsPerRow = T * cols;
  // about kChunkMacs per chunk, but at least two chunks per thread
  int64_t per = std::min<int64_t>((kChunkMacs + macsPerRow - 1) / macsPerRow, (rows + 2 * threads - 1) / (2 * threads));
  per = std::max<int64_t>(kChunkAlign, (per + kChunkAlign - 1) / kChunkAlign * kChunkAlign);
  const int64_t nChunks = (rows + per - 1) / per;

  auto body = [&](int64_t c) {
    const int64_t r0 = c * per;
    const int64_t n = std::min(per, rows - r0);
    float* yc = y + r0;
    const uint8_t* wc = w + static_cast<size_t>(r0) * rb;
    if (isa == Isa::Avx512) return matmulAvx512(yc, rows, x, T, type, n, cols, wc, nullptr, 0);  // own buffers
    const int64_t stride = scratchStride(cols);
    float* scratch = panelScratch(stride);
    if (isa == Isa::Avx2) return matmulAvx2(yc, rows, x, T, type, n, cols, wc, scratch, stride);
    matmulScalar(yc, rows, x, T, type, n, cols, wc, scratch);
  };
  if (threads == 1 || nChunks == 1 || T * rows * cols < kMinParallelMacs) {
    for (int64_t c = 0; c < nChunks; c++) body(c);
  } else {
    parallelFor(nChunks, body);
  }
}

}  // namespace tsd
