// Scalar variant of the integer matmul (the contract is in qmatmul.h): activation quantisation and
// the lane-by-lane dot products, written plainly. The SIMD variants compute the same numbers.
#include "qmatmul.h"

#include <cmath>
#include <cstring>

#include "quant.h"

namespace tsd {

namespace {

/** Position in the stored pair layout of element i (0…31) of the block with parity `odd`. */
inline int storedPos(int type, int odd, int i) {
  if (type == kQ4_0) return (i < 16 ? 0 : 32) + 16 * odd + (i & 15);
  return 32 * odd + i;
}

/** Block parity (0 or 1) that lane L of a pair belongs to. */
inline int laneBlock(int type, int lane) { return type == kQ4_0 ? (lane >> 2) & 1 : lane >> 3; }

}  // namespace

void quantizeActs(const QActs& a, const float* x, int64_t t0, int64_t t1) {
  const int bias = a.type == kQ4_0 ? 8 : 128;
  for (int64_t t = t0; t < t1; t++) {
    const float* xr = x + t * a.cols;
    int8_t* q = a.q + t * a.qStride();
    float* d = a.d + t * a.nbp;
    int32_t* c = a.c + t * a.cStride();
    std::memset(q, 0, static_cast<size_t>(a.qStride()));
    for (int64_t k = 0; k < a.nbp; k++) d[k] = 0.0f;
    for (int64_t k = 0; k < a.nb; k++) {
      const float* xb = xr + 32 * k;
      float amax = 0.0f;
      for (int i = 0; i < 32; i++) {
        const float v = std::fabs(xb[i]);
        amax = v > amax ? v : amax;
      }
      const float dk = amax / 127.0f;
      const float id = dk != 0.0f ? 1.0f / dk : 0.0f;
      d[k] = dk;
      int8_t* qp = q + 64 * (k / 2);
      for (int i = 0; i < 32; i++) {
        qp[storedPos(a.type, static_cast<int>(k & 1), i)] = static_cast<int8_t>(std::nearbyint(xb[i] * id));
      }
    }
    for (int64_t p = 0; p < a.nbp / 2; p++) {
      for (int lane = 0; lane < 16; lane++) {
        const int8_t* g = q + 64 * p + 4 * lane;
        c[16 * p + lane] = -bias * (g[0] + g[1] + g[2] + g[3]);
      }
    }
  }
}

void qmatmulScalar(float* y, int64_t ldy, const QActs& a, int64_t rows, const uint8_t* w) {
  const size_t rb = rowBytes(a.type, a.cols);
  int8_t wq[64];
  float dw[2];
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t* row = w + static_cast<size_t>(r) * rb;
    for (int64_t t = 0; t < a.T; t++) {
      const int8_t* q = a.q + t * a.qStride();
      const float* d = a.d + t * a.nbp;
      float acc[16];
      for (float& v : acc) v = 0.0f;
      for (int64_t p = 0; p < a.nbp / 2; p++) {
        const int nblk = 2 * p + 1 < a.nb ? 2 : 1;
        for (int odd = 0; odd < nblk; odd++) {
          const int64_t k = 2 * p + odd;
          if (a.type == kQ8_0) {
            const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(row) + k;
            dw[odd] = loadF16(b->d);
            for (int i = 0; i < 32; i++) wq[storedPos(a.type, odd, i)] = b->qs[i];
          } else {
            const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(row) + k;
            dw[odd] = loadF16(b->d);
            for (int i = 0; i < 16; i++) {
              wq[storedPos(a.type, odd, i)] = static_cast<int8_t>((b->qs[i] & 0x0f) - 8);
              wq[storedPos(a.type, odd, i + 16)] = static_cast<int8_t>((b->qs[i] >> 4) - 8);
            }
          }
        }
        const float s[2] = {dw[0] * d[2 * p], nblk == 2 ? dw[1] * d[2 * p + 1] : 0.0f};
        for (int lane = 0; lane < 16; lane++) {
          const int odd = laneBlock(a.type, lane);
          if (odd >= nblk) continue;  // padding block: contributes nothing
          const int o = 64 * static_cast<int>(p) + 4 * lane;
          int32_t sum = 0;
          for (int i = 0; i < 4; i++) sum += wq[4 * lane + i] * q[o + i];
          acc[lane] = std::fma(static_cast<float>(sum), s[odd], acc[lane]);
        }
      }
      float b8[8], b4[4];
      for (int i = 0; i < 8; i++) b8[i] = acc[i] + acc[i + 8];
      for (int i = 0; i < 4; i++) b4[i] = b8[i] + b8[i + 4];
      y[t * ldy + r] = (b4[0] + b4[2]) + (b4[1] + b4[3]);
    }
  }
}

}  // namespace tsd
