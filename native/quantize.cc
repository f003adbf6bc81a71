// Weight quantisation to Q8_0 / Q4_0 blocks (`--quantization wint8|wint4`), ggml's reference rounding:
// Q8_0: d = amax / 127, q = roundf(x / d) (half away from zero); Q4_0: d = max / −8 with max the value
// of largest magnitude, q = min(15, trunc(x / d + 8.5)). The bytes equal the TypeScript reference
// quantisers' (reference.ts quantizeQ8_0 / quantizeQ4_0); blocks are independent, so they are split
// over the thread pool.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "quant.h"
#include "threadpool.h"

namespace tsd {

namespace {

void quantizeBlockQ8_0(const float* x, BlockQ8_0* b) {
  float amax = 0.0f;
  for (int j = 0; j < 32; j++) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const uint16_t h = f32ToF16(d);
  std::memcpy(b->d, &h, 2);
  for (int j = 0; j < 32; j++) b->qs[j] = static_cast<int8_t>(std::round(x[j] * id));
}

void quantizeBlockQ4_0(const float* x, BlockQ4_0* b) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; j++) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const uint16_t h = f32ToF16(d);
  std::memcpy(b->d, &h, 2);
  for (int j = 0; j < 16; j++) {
    const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
    const int q1 = std::min(15, static_cast<int>(static_cast<int8_t>(x[16 + j] * id + 8.5f)));
    b->qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
  }
}

constexpr int64_t kBlocksPerChunk = 4096;

}  // namespace

void quantizeRows(int type, const float* x, int64_t n, uint8_t* out) {
  const int64_t nb = n / 32;
  auto body = [&](int64_t c) {
    const int64_t b1 = std::min(nb, (c + 1) * kBlocksPerChunk);
    for (int64_t b = c * kBlocksPerChunk; b < b1; b++) {
      if (type == kQ8_0) quantizeBlockQ8_0(x + 32 * b, reinterpret_cast<BlockQ8_0*>(out) + b);
      else quantizeBlockQ4_0(x + 32 * b, reinterpret_cast<BlockQ4_0*>(out) + b);
    }
  };
  const int64_t chunks = (nb + kBlocksPerChunk - 1) / kBlocksPerChunk;
  if (chunks <= 1) {
    for (int64_t c = 0; c < chunks; c++) body(c);
  } else {
    parallelFor(chunks, body);
  }
}

}  // namespace tsd
