// Scalar variant of the integer matmul (the contract is in qmatmul.h) and of the activation
// quantisation, written plainly. The SIMD variants compute the same numbers.
#include "qmatmul.h"

#include <cmath>
#include <cstring>

#include "quant.h"

namespace tsd {

void quantizeActs(const QActs& a, const float* x, int64_t t0, int64_t t1) {
  const int bias = quantBias(a.type);
  for (int64_t t = t0; t < t1; t++) {
    const float* xr = x + t * a.cols;
    int8_t* q = a.q + t * a.qStride();
    float* d = a.d + t * a.nb;
    int32_t* c = a.c + t * a.nb;
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
      int32_t sum = 0;
      for (int i = 0; i < 32; i++) {
        q[32 * k + i] = static_cast<int8_t>(std::nearbyint(xb[i] * id));
        sum += q[32 * k + i];
      }
      c[k] = -bias * sum;
    }
  }
}

namespace {

/** Integer weight value (Q4_K: the nibble u) of row r (0…15), element i (0…31) of block k. */
inline int weightAt(const QPackLayout& L, const uint8_t* panel, int64_t k, int r, int i) {
  if (L.kind == kQ8_0 || L.kind == kQ6_K) return static_cast<int8_t>(panel[k * 512 + 64 * (i / 4) + 4 * r + (i % 4)]);
  if (L.kind == kQ5_K) return panel[k * 512 + 64 * (i / 4) + 4 * r + (i % 4)];
  const uint8_t byte = panel[k * 256 + 64 * ((i % 16) / 4) + 4 * r + (i % 4)];
  return (i < 16 ? byte & 0x0f : byte >> 4) - (L.kind == kQ4_K ? 0 : 8);
}

}  // namespace

void qmatmulScalar(float* y, int64_t ldy, const QActs& a, const QPackLayout& L, int64_t panel0, int64_t panels,
                   const uint8_t* pk) {
  for (int64_t p = panel0; p < panel0 + panels; p++) {
    const uint8_t* panel = pk + p * L.panelStride;
    const uint8_t* scales = panel + L.scaleOffset();
    for (int r = 0; r < kPanelRows && p * kPanelRows + r < L.rows; r++) {
      for (int64_t t = 0; t < a.T; t++) {
        const int8_t* q = a.q + t * a.qStride();
        const float* d = a.d + t * a.nb;
        float acc = 0.0f;
        for (int64_t k = 0; k < a.nb; k++) {
          int32_t P = 0, half[2] = {0, 0};
          for (int i = 0; i < 32; i++) half[i / 16] += weightAt(L, panel, k, r, i) * q[32 * k + i];
          P = half[0] + half[1];
          const uint8_t* sk = scales + k * L.scaleBytes;
          if (L.kind == kQ6_K) {
            for (int h = 0; h < 2; h++) {
              float s;
              std::memcpy(&s, sk + 4 * (h * kPanelRows + r), 4);
              acc = std::fma(static_cast<float>(half[h]), s * d[k], acc);
            }
          } else if (L.kind == kQ4_K || L.kind == kQ5_K) {
            float A, B;
            std::memcpy(&A, sk + 4 * r, 4);
            std::memcpy(&B, sk + 4 * (kPanelRows + r), 4);
            acc = std::fma(static_cast<float>(P), A * d[k], acc);
            acc = std::fma(static_cast<float>(a.c[t * a.nb + k]), B * d[k], acc);  // c = −Σq
          } else {
            acc = std::fma(static_cast<float>(P), loadF16(sk + 2 * r) * d[k], acc);
          }
        }
        y[t * ldy + p * kPanelRows + r] = acc;
      }
    }
  }
}

}  // namespace tsd
