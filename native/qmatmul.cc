// Scalar variant of the integer matmul (the contract is in qmatmul.h), the packing of the weights,
// and the activation quantisation, written plainly. The SIMD variants compute the same numbers.
#include "qmatmul.h"

#include <cmath>
#include <cstring>

#include "quant.h"

namespace tsd {

QPackLayout::QPackLayout(int t, int64_t r, int64_t c) : type(t), kind(packedKind(t)), rows(r), cols(c) {
  nb = cols / 32;
  panels = (rows + kPanelRows - 1) / kPanelRows;
  quantBytes = kind == kQ4_0 || kind == kQ4_K ? 256 : 512;
  scaleBytes = kind == kQ4_0 || kind == kQ8_0 ? 2 * kPanelRows : 8 * kPanelRows;
  panelStride = (nb * (quantBytes + scaleBytes) + 63) / 64 * 64;
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
        if (L.type == kQ5_0 || L.type == kQ5_1) {
          // 5-bit u: the nibble, and bit i of qh; Q5_0 → int8 u − 16 with f16 d (Q8_0 layout),
          // Q5_1 → byte u with f32 A = d, B = −m (Q5_K layout)
          const bool one = L.type == kQ5_1;
          const uint8_t* blk = row + k * (one ? sizeof(BlockQ5_1) : sizeof(BlockQ5_0));
          const uint8_t* qhBytes = one ? reinterpret_cast<const BlockQ5_1*>(blk)->qh : reinterpret_cast<const BlockQ5_0*>(blk)->qh;
          const uint8_t* qs = one ? reinterpret_cast<const BlockQ5_1*>(blk)->qs : reinterpret_cast<const BlockQ5_0*>(blk)->qs;
          uint32_t qh;
          std::memcpy(&qh, qhBytes, 4);
          for (int i = 0; i < 32; i++) {
            const int u = ((i < 16 ? qs[i] : qs[i - 16] >> 4) & 0x0f) | (((qh >> i) & 1) << 4);
            quants[64 * (i / 4) + (i % 4)] = static_cast<uint8_t>(one ? u : u - 16);
          }
          if (one) {
            const float A = loadF16(blk), B = -loadF16(blk + 2);
            std::memcpy(scales + k * L.scaleBytes + 4 * r, &A, 4);
            std::memcpy(scales + k * L.scaleBytes + 4 * (kPanelRows + r), &B, 4);
          } else {
            std::memcpy(scales + k * L.scaleBytes + 2 * r, blk, 2);
          }
        } else if (L.type == kQ4_1) {  // Q4_0's nibble order, f32 A = d and B = −m (Q4_K layout)
          const BlockQ4_1* b = reinterpret_cast<const BlockQ4_1*>(row) + k;
          const float A = loadF16(b->d), B = -loadF16(b->m);
          std::memcpy(scales + k * L.scaleBytes + 4 * r, &A, 4);
          std::memcpy(scales + k * L.scaleBytes + 4 * (kPanelRows + r), &B, 4);
          for (int j = 0; j < 4; j++) std::memcpy(quants + 64 * j, b->qs + 4 * j, 4);
        } else if (L.type == kQ6_K) {
          // element e of the super-block: half hh = e / 128, group g = (e % 128) / 32, l = e % 32
          const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(row) + k / 8;
          const int hh = static_cast<int>(k % 8) / 4, g = static_cast<int>(k % 8) % 4;
          const uint8_t* ql = b->ql + 64 * hh + (g & 1) * 32;
          const uint8_t* qh = b->qh + 32 * hh;
          const float d = loadF16(b->d);
          for (int h = 0; h < 2; h++) {
            const float s = d * static_cast<float>(b->scales[8 * hh + 2 * g + h]);
            std::memcpy(scales + k * L.scaleBytes + 4 * (h * kPanelRows + r), &s, 4);
          }
          for (int l = 0; l < 32; l++) {
            const int lo = g < 2 ? ql[l] & 0x0f : ql[l] >> 4;
            const int u = lo | (((qh[l] >> (2 * g)) & 3) << 4);
            quants[64 * (l / 4) + (l % 4)] = static_cast<uint8_t>(static_cast<int8_t>(u - 32));
          }
        } else if (L.type == kQ5_K) {
          const BlockQ5_K* b = reinterpret_cast<const BlockQ5_K*>(row) + k / 8;
          const int j = static_cast<int>(k % 8);
          int sc, m;
          scaleMinK4(j, b->scales, &sc, &m);
          const float A = loadF16(b->d) * static_cast<float>(sc), B = loadF16(b->dmin) * static_cast<float>(m);
          std::memcpy(scales + k * L.scaleBytes + 4 * r, &A, 4);
          std::memcpy(scales + k * L.scaleBytes + 4 * (kPanelRows + r), &B, 4);
          const uint8_t* qs = b->qs + 32 * (j / 2);
          for (int l = 0; l < 32; l++) {
            const int u = ((qs[l] >> (4 * (j % 2))) & 0x0f) | (((b->qh[l] >> j) & 1) << 4);
            quants[64 * (l / 4) + (l % 4)] = static_cast<uint8_t>(u);
          }
        } else if (L.type == kQ4_K) {
          const BlockQ4_K* b = reinterpret_cast<const BlockQ4_K*>(row) + k / 8;
          const int j = static_cast<int>(k % 8);
          int sc, m;
          scaleMinK4(j, b->scales, &sc, &m);
          const float A = loadF16(b->d) * static_cast<float>(sc), B = loadF16(b->dmin) * static_cast<float>(m);
          std::memcpy(scales + k * L.scaleBytes + 4 * r, &A, 4);
          std::memcpy(scales + k * L.scaleBytes + 4 * (kPanelRows + r), &B, 4);
          const uint8_t* qs = b->qs + 32 * (j / 2);
          const int shift = 4 * (j % 2);
          for (int jq = 0; jq < 4; jq++) {
            for (int e = 0; e < 4; e++) {
              const int lo = (qs[4 * jq + e] >> shift) & 0x0f, hi = (qs[16 + 4 * jq + e] >> shift) & 0x0f;
              quants[64 * jq + e] = static_cast<uint8_t>(lo | (hi << 4));
            }
          }
        } else if (L.type == kQ8_0) {
          const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(row) + k;
          std::memcpy(scales + k * L.scaleBytes + 2 * r, b->d, 2);
          for (int j = 0; j < 8; j++) std::memcpy(quants + 64 * j, b->qs + 4 * j, 4);
        } else {
          const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(row) + k;
          std::memcpy(scales + k * L.scaleBytes + 2 * r, b->d, 2);
          for (int j = 0; j < 4; j++) std::memcpy(quants + 64 * j, b->qs + 4 * j, 4);
        }
      }
    }
  }
}

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
