// Packing of block-format weights into the integer kernels' layout (qmatmul.h, QPackLayout), once
// at load. Each format has its own small function that writes one row's block k: its 32 values as
// the row's 4-byte quads (quads[64·j + 4·r …]) and its scales at column r of the block's scales.
#include <cstring>

#include "qmatmul.h"
#include "quant.h"

namespace tsd {

namespace {

/** Where one row's block k goes: its quads (row offset applied) and the block's scales. */
struct BlockOut {
  uint8_t* quads;
  uint8_t* scales;
  int r;
  /** f16 scale (Q8_0 / Q4_0 layouts) */
  void f16(const uint8_t* d) const { std::memcpy(scales + 2 * r, d, 2); }
  /** f32 scale pair: A (or the first half's scale) and B (or the second half's) */
  void f32(float a, float b) const {
    std::memcpy(scales + 4 * r, &a, 4);
    std::memcpy(scales + 4 * (kPanelRows + r), &b, 4);
  }
  /** element i (0…31) as one byte, Q8_0 arrangement */
  void byte(int i, int v) const { quads[64 * (i / 4) + (i % 4)] = static_cast<uint8_t>(v); }
};

void packQ8_0(const uint8_t* row, int64_t k, const BlockOut& o) {
  const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(row) + k;
  o.f16(b->d);
  for (int j = 0; j < 8; j++) std::memcpy(o.quads + 64 * j, b->qs + 4 * j, 4);
}

void packQ4_0(const uint8_t* row, int64_t k, const BlockOut& o) {
  const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(row) + k;
  o.f16(b->d);
  for (int j = 0; j < 4; j++) std::memcpy(o.quads + 64 * j, b->qs + 4 * j, 4);  // nibble pairs as stored
}

/** Q4_1: Q4_0's nibble order, A = d and B = −m (Q4_K layout). */
void packQ4_1(const uint8_t* row, int64_t k, const BlockOut& o) {
  const BlockQ4_1* b = reinterpret_cast<const BlockQ4_1*>(row) + k;
  o.f32(loadF16(b->d), -loadF16(b->m));
  for (int j = 0; j < 4; j++) std::memcpy(o.quads + 64 * j, b->qs + 4 * j, 4);
}

/** 5-bit u of a Q5_0/Q5_1 block: the nibble, and bit i of qh. */
inline int fiveBit(const uint8_t* qs, uint32_t qh, int i) {
  return ((i < 16 ? qs[i] : qs[i - 16] >> 4) & 0x0f) | (((qh >> i) & 1) << 4);
}

/** Q5_0: int8 u − 16 with f16 d (Q8_0 layout). */
void packQ5_0(const uint8_t* row, int64_t k, const BlockOut& o) {
  const BlockQ5_0* b = reinterpret_cast<const BlockQ5_0*>(row) + k;
  uint32_t qh;
  std::memcpy(&qh, b->qh, 4);
  o.f16(b->d);
  for (int i = 0; i < 32; i++) o.byte(i, fiveBit(b->qs, qh, i) - 16);
}

/** Q5_1: byte u with A = d and B = −m (Q5_K layout). */
void packQ5_1(const uint8_t* row, int64_t k, const BlockOut& o) {
  const BlockQ5_1* b = reinterpret_cast<const BlockQ5_1*>(row) + k;
  uint32_t qh;
  std::memcpy(&qh, b->qh, 4);
  o.f32(loadF16(b->d), -loadF16(b->m));
  for (int i = 0; i < 32; i++) o.byte(i, fiveBit(b->qs, qh, i));
}

/** Q4_K/Q5_K sub-block j of a super-block: A = d·sc_j, B = dmin·m_j (exact in f32). */
template <class Block>
void kScales(const Block* b, int j, const BlockOut& o) {
  int sc, m;
  scaleMinK4(j, b->scales, &sc, &m);
  o.f32(loadF16(b->d) * static_cast<float>(sc), loadF16(b->dmin) * static_cast<float>(m));
}

/** Q4_K: sub-block k % 8's nibbles rearranged into Q4_0's order. */
void packQ4_K(const uint8_t* row, int64_t k, const BlockOut& o) {
  const BlockQ4_K* b = reinterpret_cast<const BlockQ4_K*>(row) + k / 8;
  const int j = static_cast<int>(k % 8);
  kScales(b, j, o);
  const uint8_t* qs = b->qs + 32 * (j / 2);
  const int shift = 4 * (j % 2);
  for (int jq = 0; jq < 4; jq++) {
    for (int e = 0; e < 4; e++) {
      const int lo = (qs[4 * jq + e] >> shift) & 0x0f, hi = (qs[16 + 4 * jq + e] >> shift) & 0x0f;
      o.quads[64 * jq + e] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

/** Q5_K: sub-block k % 8's 5-bit u as bytes (nibble from qs, fifth bit from qh). */
void packQ5_K(const uint8_t* row, int64_t k, const BlockOut& o) {
  const BlockQ5_K* b = reinterpret_cast<const BlockQ5_K*>(row) + k / 8;
  const int j = static_cast<int>(k % 8);
  kScales(b, j, o);
  const uint8_t* qs = b->qs + 32 * (j / 2);
  for (int l = 0; l < 32; l++) o.byte(l, ((qs[l] >> (4 * (j % 2))) & 0x0f) | (((b->qh[l] >> j) & 1) << 4));
}

/**
 * Q6_K: block k % 8 = 4·hh + g of a super-block (half hh of 128 elements, group g of 32): u from
 * ql's low/high nibble and two bits of qh, stored as int8 u − 32; the two 16-element halves' scales
 * d·sc.
 */
void packQ6_K(const uint8_t* row, int64_t k, const BlockOut& o) {
  const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(row) + k / 8;
  const int hh = static_cast<int>(k % 8) / 4, g = static_cast<int>(k % 8) % 4;
  const uint8_t* ql = b->ql + 64 * hh + (g & 1) * 32;
  const uint8_t* qh = b->qh + 32 * hh;
  const float d = loadF16(b->d);
  o.f32(d * static_cast<float>(b->scales[8 * hh + 2 * g]), d * static_cast<float>(b->scales[8 * hh + 2 * g + 1]));
  for (int l = 0; l < 32; l++) {
    const int lo = g < 2 ? ql[l] & 0x0f : ql[l] >> 4;
    o.byte(l, (lo | (((qh[l] >> (2 * g)) & 3) << 4)) - 32);
  }
}

using PackFn = void (*)(const uint8_t*, int64_t, const BlockOut&);

PackFn packerFor(int type) {
  switch (type) {
    case kQ8_0: return packQ8_0;
    case kQ4_0: return packQ4_0;
    case kQ4_1: return packQ4_1;
    case kQ5_0: return packQ5_0;
    case kQ5_1: return packQ5_1;
    case kQ4_K: return packQ4_K;
    case kQ5_K: return packQ5_K;
    default: return packQ6_K;
  }
}

}  // namespace

QPackLayout::QPackLayout(int t, int64_t r, int64_t c) : type(t), kind(packedKind(t)), rows(r), cols(c) {
  nb = cols / 32;
  panels = (rows + kPanelRows - 1) / kPanelRows;
  quantBytes = kind == kQ4_0 || kind == kQ4_K ? 256 : 512;
  scaleBytes = kind == kQ4_0 || kind == kQ8_0 ? 2 * kPanelRows : 8 * kPanelRows;
  panelStride = (nb * (quantBytes + scaleBytes) + 63) / 64 * 64;
}

void packQWeights(const QPackLayout& L, const uint8_t* w, uint8_t* dst) {
  const size_t rb = rowBytes(L.type, L.cols);
  const PackFn pack = packerFor(L.type);
  std::memset(dst, 0, static_cast<size_t>(L.bytes()));  // rows past the matrix stay zero
  for (int64_t p = 0; p < L.panels; p++) {
    uint8_t* panel = dst + p * L.panelStride;
    for (int r = 0; r < kPanelRows && p * kPanelRows + r < L.rows; r++) {
      const uint8_t* row = w + static_cast<size_t>(p * kPanelRows + r) * rb;
      for (int64_t k = 0; k < L.nb; k++) {
        pack(row, k, BlockOut{panel + k * L.quantBytes + 4 * r, panel + L.scaleOffset() + k * L.scaleBytes, r});
      }
    }
  }
}

}  // namespace tsd
