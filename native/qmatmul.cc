// Scalar variant of the integer matmul (the contract is in qmatmul.h), the packing of the weights,
// and the activation quantisation, written plainly. The SIMD variants compute the same numbers.
#include "qmatmul.h"

#include <cmath>
#include <cstring>

#include "quant.h"

namespace tsd {

QPackLayout::QPackLayout(int t, int64_t r, int64_t c) : type(t), rows(r), cols(c) {
  nb = cols / 32;
  panels = (rows + kPanelRows - 1) / kPanelRows;
  quantBytes = type == kQ4_0 ? 256 : 512;
  panelStride = (nb * (quantBytes + 2 * kPanelRows) + 63) / 64 * 64;
}

void packQWeights(const QPackLayout& L, const uint8_t* w, uint8_t* dst) {
  const size_t rb = rowBytes(L.type, L.cols);
  std::memset(dst, 0, static_cast<size_t>(L.bytes()));
  for (int64_t p = 0; p < L.panels; p++) {
    uint8_t* panel = dst + p * L.panelStride;
    uint8_t* scales = panel + L.scaleOffset();
    for (int64_t r = 0; r < kPanelRows && p * kPanelRows + r < L.rows; r++) {
      const uint8_t* row = w + static_cast<size_t>(p * kPanelRows + r) * rb;
      for (int64_t k = 0; k < L.nb; k++) {
        uint8_t* quants = panel + k * L.quantBytes + 4 * r;
        if (L.type == kQ8_0) {
          const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(row) + k;
          std::memcpy(scales + (k * kPanelRows + r) * 2, b->d, 2);
          for (int j = 0; j < 8; j++) std::memcpy(quants + 64 * j, b->qs + 4 * j, 4);
        } else {
          const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(row) + k;
          std::memcpy(scales + (k * kPanelRows + r) * 2, b->d, 2);
          for (int j = 0; j < 4; j++) std::memcpy(quants + 64 * j, b->qs + 4 * j, 4);
        }
      }
    }
  }
}

void quantizeActs(const QActs& a, const float* x, int64_t t0, int64_t t1) {
  const int bias = a.type == kQ4_0 ? 8 : 128;
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

/** Integer weight value of row r (0…15), element i (0…31) of block k in a packed panel. */
inline int weightAt(const QPackLayout& L, const uint8_t* panel, int64_t k, int r, int i) {
  if (L.type == kQ8_0) return static_cast<int8_t>(panel[k * 512 + 64 * (i / 4) + 4 * r + (i % 4)]);
  const uint8_t byte = panel[k * 256 + 64 * ((i % 16) / 4) + 4 * r + (i % 4)];
  return (i < 16 ? byte & 0x0f : byte >> 4) - 8;
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
          int32_t P = 0;
          for (int i = 0; i < 32; i++) P += weightAt(L, panel, k, r, i) * q[32 * k + i];
          const float s = loadF16(scales + (k * kPanelRows + r) * 2) * d[k];
          acc = std::fma(static_cast<float>(P), s, acc);
        }
        y[t * ldy + p * kPanelRows + r] = acc;
      }
    }
  }
}

}  // namespace tsd
