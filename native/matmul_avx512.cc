// AVX-512 matmul with f32 activations (Q8_0/Q4_0 weights take the integer route, qmatmul.h).
// Each output element is built from four partial sums (the 4-lane form below, see matmul.h).
//
// For few tokens (decode) row loaders convert F32/F16/BF16 on the fly (the loaders also serve
// getRows). For more tokens a K-blocked GEMM works on groups of rows dequantised once to f32 and
// packed. Dequantisation is exact (same float value either way) and both routes perform the same FMAs
// per partial sum in the same order, so they give bit-identical results and the route may depend on T.
#include <algorithm>
#include <vector>

#include "cpu.h"
#include "dequant.h"
#include "matmul.h"
#include "quant.h"
#include "simd.h"

namespace tsd {

namespace {

// ---- row loaders: begin(k) prepares 32-column block k, part(k, j) returns columns 32k+16j…+15;
// at(i) / masked(i, m) serve the tail of element-wise types (never reached for block formats).

struct RowF32 {
  const float* p = nullptr;
  RowF32() = default;
  explicit RowF32(const uint8_t* q) : p(reinterpret_cast<const float*>(q)) {}  // read with unaligned loads only
  const uint8_t* addr(int64_t k) const { return reinterpret_cast<const uint8_t*>(p + 32 * k); }
  static constexpr int kBlockBytes = 128;
  TSD_AVX512 void begin(int64_t) {}
  TSD_AVX512 __m512 part(int64_t k, int j) const { return _mm512_loadu_ps(p + 32 * k + 16 * j); }
  TSD_AVX512 __m512 at(int64_t i) const { return _mm512_loadu_ps(p + i); }
  TSD_AVX512 __m512 masked(int64_t i, __mmask16 m) const { return _mm512_maskz_loadu_ps(m, p + i); }
};

struct RowF16 {
  const uint16_t* p = nullptr;
  RowF16() = default;
  explicit RowF16(const uint8_t* q) : p(reinterpret_cast<const uint16_t*>(q)) {}
  const uint8_t* addr(int64_t k) const { return reinterpret_cast<const uint8_t*>(p + 32 * k); }
  static constexpr int kBlockBytes = 64;
  TSD_AVX512 void begin(int64_t) {}
  TSD_AVX512 __m512 at(int64_t i) const {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
  }
  TSD_AVX512 __m512 part(int64_t k, int j) const { return at(32 * k + 16 * j); }
  TSD_AVX512 __m512 masked(int64_t i, __mmask16 m) const { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p + i)); }
};

struct RowBF16 {
  const uint16_t* p = nullptr;
  RowBF16() = default;
  explicit RowBF16(const uint8_t* q) : p(reinterpret_cast<const uint16_t*>(q)) {}
  const uint8_t* addr(int64_t k) const { return reinterpret_cast<const uint8_t*>(p + 32 * k); }
  static constexpr int kBlockBytes = 64;
  TSD_AVX512 static __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  TSD_AVX512 void begin(int64_t) {}
  TSD_AVX512 __m512 at(int64_t i) const { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i))); }
  TSD_AVX512 __m512 part(int64_t k, int j) const { return at(32 * k + 16 * j); }
  TSD_AVX512 __m512 masked(int64_t i, __mmask16 m) const { return widen(_mm256_maskz_loadu_epi16(m, p + i)); }
};

TSD_AVX512 inline __m512 broadcastF16(const uint8_t* d) {
  return _mm512_cvtph_ps(_mm256_set1_epi16(static_cast<short>(loadU16(d))));
}

struct RowQ8_0 {
  const BlockQ8_0* b = nullptr;
  __m512 d;  // scale of the current block
  RowQ8_0() = default;
  explicit RowQ8_0(const uint8_t* q) : b(reinterpret_cast<const BlockQ8_0*>(q)) {}
  const uint8_t* addr(int64_t k) const { return reinterpret_cast<const uint8_t*>(b + k); }
  static constexpr int kBlockBytes = sizeof(BlockQ8_0);
  TSD_AVX512 void begin(int64_t k) { d = broadcastF16(b[k].d); }
  TSD_AVX512 __m512 part(int64_t k, int j) const {
    const __m512i q = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[k].qs + 16 * j)));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(q), d);
  }
  TSD_AVX512 __m512 at(int64_t) const { return _mm512_setzero_ps(); }
  TSD_AVX512 __m512 masked(int64_t, __mmask16) const { return _mm512_setzero_ps(); }
};

struct RowQ4_0 {
  const BlockQ4_0* b = nullptr;
  __m512 d;  // scale of the current block
  RowQ4_0() = default;
  explicit RowQ4_0(const uint8_t* q) : b(reinterpret_cast<const BlockQ4_0*>(q)) {}
  const uint8_t* addr(int64_t k) const { return reinterpret_cast<const uint8_t*>(b + k); }
  static constexpr int kBlockBytes = sizeof(BlockQ4_0);
  TSD_AVX512 void begin(int64_t k) { d = broadcastF16(b[k].d); }
  TSD_AVX512 __m512 part(int64_t k, int j) const {
    __m128i qs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[k].qs));
    if (j == 1) qs = _mm_srli_epi16(qs, 4);
    const __m512i q = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_and_si128(qs, _mm_set1_epi8(0x0f))),
                                       _mm512_set1_epi32(8));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(q), d);
  }
  TSD_AVX512 __m512 at(int64_t) const { return _mm512_setzero_ps(); }
  TSD_AVX512 __m512 masked(int64_t, __mmask16) const { return _mm512_setzero_ps(); }
};

// ---- the 4-lane form --------------------------------------------------------------------------
//
// Every output element y[t][r] is built from four f32 partial sums P_j (j = 0…3): P_j accumulates
// x[t][c]·w[r][c] for the columns c ≡ j (mod 4) in increasing order, one FMA each, starting from +0
// (zero padding past `cols` changes nothing); then y = (P_0 + P_1) + (P_2 + P_3). A 512-bit
// accumulator holds the partials of 4 rows (lane 4·row + j) for one token, so a GEMM keeps only 16
// bytes per output element between column blocks, and the decode route (rows read directly, 4×4
// blocks transposed in registers) performs exactly the same FMAs in the same order.

/** out[g] = [w0 cols 4g…4g+3, w1 …, w2 …, w3 …] from four rows of 16 columns. */
TSD_AVX512 inline void transpose4x4(const __m512* w, __m512* out) {
  const __m512 t0 = _mm512_shuffle_f32x4(w[0], w[1], 0x44), t1 = _mm512_shuffle_f32x4(w[0], w[1], 0xee);
  const __m512 t2 = _mm512_shuffle_f32x4(w[2], w[3], 0x44), t3 = _mm512_shuffle_f32x4(w[2], w[3], 0xee);
  out[0] = _mm512_shuffle_f32x4(t0, t2, 0x88);
  out[1] = _mm512_shuffle_f32x4(t0, t2, 0xdd);
  out[2] = _mm512_shuffle_f32x4(t1, t3, 0x88);
  out[3] = _mm512_shuffle_f32x4(t1, t3, 0xdd);
}

/** out[q] = 4 rows × columns i+4q…i+4q+3 through row loaders (masked past `cols` when !full). */
template <class L>
TSD_AVX512 inline void loadQuad(const L* const* rows, int64_t i, bool full, __mmask16 m, __m512* out) {
  __m512 raw[4];
  for (int rr = 0; rr < 4; rr++) raw[rr] = full ? rows[rr]->at(i) : rows[rr]->masked(i, m);
  transpose4x4(raw, out);
}

/** 16 values of two rows of 16-bit values in one register. */
TSD_AVX512 inline __m512i rowPair(const uint16_t* a, const uint16_t* b) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b)), 1);
}

/**
 * BF16: widening by interleaving zero words puts 4-column blocks of two rows into the 128-bit lanes
 * ([r0 c0…3, r0 c8…11, r1 c0…3, r1 c8…11] and the odd blocks), so one shuffle per output finishes
 * the transpose (8 shuffle-port operations per 4 × 16 values instead of 4 widenings and 8 shuffles).
 */
template <>
TSD_AVX512 inline void loadQuad<RowBF16>(const RowBF16* const* rows, int64_t i, bool full, __mmask16 m, __m512* out) {
  if (!full) {
    __m512 raw[4];
    for (int rr = 0; rr < 4; rr++) raw[rr] = rows[rr]->masked(i, m);
    return transpose4x4(raw, out);
  }
  const __m512i z = _mm512_setzero_si512();
  const __m512i z01 = rowPair(rows[0]->p + i, rows[1]->p + i), z23 = rowPair(rows[2]->p + i, rows[3]->p + i);
  const __m512 a = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, z01));  // r0 q0, r0 q2, r1 q0, r1 q2
  const __m512 b = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, z01));  // r0 q1, r0 q3, r1 q1, r1 q3
  const __m512 c = _mm512_castsi512_ps(_mm512_unpacklo_epi16(z, z23));
  const __m512 d = _mm512_castsi512_ps(_mm512_unpackhi_epi16(z, z23));
  out[0] = _mm512_shuffle_f32x4(a, c, _MM_SHUFFLE(2, 0, 2, 0));
  out[1] = _mm512_shuffle_f32x4(b, d, _MM_SHUFFLE(2, 0, 2, 0));
  out[2] = _mm512_shuffle_f32x4(a, c, _MM_SHUFFLE(3, 1, 3, 1));
  out[3] = _mm512_shuffle_f32x4(b, d, _MM_SHUFFLE(3, 1, 3, 1));
}

/** y[0…3] = (P_0 + P_1) + (P_2 + P_3) of the four rows held by acc. */
TSD_AVX512 inline void reduce4(__m512 acc, float* y, int64_t n) {
  const __m512 s1 = _mm512_add_ps(acc, _mm512_permute_ps(acc, _MM_SHUFFLE(2, 3, 0, 1)));
  const __m512 s2 = _mm512_add_ps(s1, _mm512_permute_ps(s1, _MM_SHUFFLE(1, 0, 3, 2)));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s2);
  for (int64_t r = 0; r < n; r++) y[r] = lanes[4 * r];
}

/** x[c…c+3] in every 128-bit lane (only the first `rem` values when rem < 4, none when rem ≤ 0). */
TSD_AVX512 inline __m512 xQuad(const float* p, int64_t rem) {
  if (rem >= 4) return _mm512_broadcast_f32x4(_mm_loadu_ps(p));
  if (rem <= 0) return _mm512_setzero_ps();
  return _mm512_broadcast_f32x4(_mm_maskz_loadu_ps(static_cast<__mmask8>((1u << rem) - 1u), p));
}

/**
 * Decode route: y[t × ldy + r] for t < TT tokens and 4·G rows (rows past `rn` read row rn − 1 and are
 * dropped), weights converted on the fly by the row loaders.
 */
template <int TT, int G, class L>
TSD_AVX512 void dtile(float* y, int64_t ldy, const float* x, int64_t ldx, const L* w, int64_t rn, int64_t cols,
                      int64_t pf) {
  __m512 acc[TT][G];
  for (int t = 0; t < TT; t++)
    for (int g = 0; g < G; g++) acc[t][g] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i < cols; i += 16) {
    const bool full = i + 16 <= cols;
    const __mmask16 m = full ? static_cast<__mmask16>(0xffff) : tailMask16(cols - i);
    for (int g = 0; g < G; g++) {
      const L* rows[4];
      for (int rr = 0; rr < 4; rr++) {
        rows[rr] = &w[std::min<int64_t>(4 * g + rr, rn - 1)];
        const int64_t at = i * (L::kBlockBytes / 32);  // byte offset of column i
        if (pf != 0 && at % 64 == 0) _mm_prefetch(reinterpret_cast<const char*>(rows[rr]->addr(0)) + at + pf, _MM_HINT_T0);
      }
      __m512 tw[4];
      loadQuad(rows, i, full, m, tw);
      for (int t = 0; t < TT; t++) {
        for (int q = 0; q < 4; q++) {
          acc[t][g] = _mm512_fmadd_ps(tw[q], xQuad(x + t * ldx + i + 4 * q, cols - i - 4 * q), acc[t][g]);
        }
      }
    }
  }
  for (int t = 0; t < TT; t++)
    for (int g = 0; g < G; g++) reduce4(acc[t][g], y + t * ldy + 4 * g, std::min<int64_t>(4, rn - 4 * g));
}

template <class L>
using DTileFn = void (*)(float*, int64_t, const float*, int64_t, const L*, int64_t, int64_t, int64_t);

constexpr int kMaxDecodeTokens = 4;

// kDTiles<L>[tt − 1]: one token reads 16 rows per pass, 2…4 tokens 8 rows
template <class L>
const DTileFn<L> kDTiles[kMaxDecodeTokens] = {dtile<1, 4, L>, dtile<2, 2, L>, dtile<3, 2, L>, dtile<4, 2, L>};

/** Few tokens (decode): panels of 16 (8) rows → one tile of all tokens; prefetch the next panel. */
template <class L>
TSD_AVX512 void drive(float* y, int64_t ldy, const float* x, int64_t T, int type, int64_t rows, int64_t cols,
                      const uint8_t* w) {
  const size_t rb = rowBytes(type, cols);
  const int64_t panel = T == 1 ? 16 : 8;
  L wr[16];
  for (int64_t r0 = 0; r0 < rows; r0 += panel) {
    const int64_t rn = std::min(panel, rows - r0);
    for (int64_t r = 0; r < rn; r++) wr[r] = L(w + static_cast<size_t>(r0 + r) * rb);
    const int64_t pf = std::max<int64_t>(panel * static_cast<int64_t>(rb), kPrefetchMin);
    kDTiles<L>[T - 1](y + r0, ldy, x, cols, wr, rn, cols, pf);
  }
}

// ---- many tokens: a K-blocked GEMM over packed f32 panels -----------------------------------------
//
// A group of kGemmRows weight rows is dequantised once and packed per column block as
// [4-column step][row quad][4 rows × 4 columns], the order the accumulators want; each token tile
// then streams the block with one 64-byte load per row quad and step, and between column blocks an
// element's four partials (16 bytes) wait in a partial-sum buffer.

constexpr int64_t kGemmRows = 16;
constexpr int64_t kGemmQuads = kGemmRows / 4;
constexpr int64_t kGemmCols = 256;
constexpr int64_t kGemmTokens = 256;
constexpr int kGemmTileTokens = 6;

/** Partials of TT tokens × G row quads over one column block of kn columns (steps of 4). */
template <int TT, int G>
TSD_AVX512 void gtile(__m512* P, const float* x, int64_t ldx, const float* pk, int64_t kn, bool first, bool last,
                      float* y, int64_t ldy, int64_t rn) {
  __m512 acc[TT][G];
  for (int t = 0; t < TT; t++)
    for (int g = 0; g < G; g++) acc[t][g] = first ? _mm512_setzero_ps() : P[t * kGemmQuads + g];
  const int64_t full = kn / 4;
  for (int64_t s = 0; s < full; s++) {
    __m512 wv[G];
    for (int g = 0; g < G; g++) wv[g] = _mm512_load_ps(pk + (s * kGemmQuads + g) * 16);
    for (int t = 0; t < TT; t++) {
      const __m512 xb = _mm512_broadcast_f32x4(_mm_loadu_ps(x + t * ldx + 4 * s));
      for (int g = 0; g < G; g++) acc[t][g] = _mm512_fmadd_ps(wv[g], xb, acc[t][g]);
    }
  }
  if (full * 4 < kn) {
    const int64_t s = full;
    __m512 wv[G];
    for (int g = 0; g < G; g++) wv[g] = _mm512_load_ps(pk + (s * kGemmQuads + g) * 16);
    for (int t = 0; t < TT; t++) {
      const __m512 xb = xQuad(x + t * ldx + 4 * s, kn - 4 * s);
      for (int g = 0; g < G; g++) acc[t][g] = _mm512_fmadd_ps(wv[g], xb, acc[t][g]);
    }
  }
  if (last) {
    for (int t = 0; t < TT; t++)
      for (int g = 0; g < G; g++) reduce4(acc[t][g], y + t * ldy + 4 * g, std::min<int64_t>(4, rn - 4 * g));
  } else {
    for (int t = 0; t < TT; t++)
      for (int g = 0; g < G; g++) P[t * kGemmQuads + g] = acc[t][g];
  }
}

using GTileFn = void (*)(__m512*, const float*, int64_t, const float*, int64_t, bool, bool, float*, int64_t, int64_t);

const GTileFn kGTiles[kGemmTileTokens][kGemmQuads] = {
    {gtile<1, 1>, gtile<1, 2>, gtile<1, 3>, gtile<1, 4>}, {gtile<2, 1>, gtile<2, 2>, gtile<2, 3>, gtile<2, 4>},
    {gtile<3, 1>, gtile<3, 2>, gtile<3, 3>, gtile<3, 4>}, {gtile<4, 1>, gtile<4, 2>, gtile<4, 3>, gtile<4, 4>},
    {gtile<5, 1>, gtile<5, 2>, gtile<5, 3>, gtile<5, 4>}, {gtile<6, 1>, gtile<6, 2>, gtile<6, 3>, gtile<6, 4>},
};

/** 64-byte aligned thread-local buffer of at least `bytes`. */
inline void* alignedScratch(std::vector<uint8_t>& buf, size_t bytes) {
  if (buf.size() < bytes + 64) buf.resize(bytes + 64);
  return buf.data() + (64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64;
}

/** Rows [0, 4) of a quad as 16-column chunks, through a row loader (rows ≥ rn are zero). */
template <class L>
TSD_AVX512 void packQuad(float* panel, const L* rowsL, int64_t rn, int64_t quad, int64_t cols) {
  const int64_t blockFloats = kGemmCols * kGemmRows;
  for (int64_t i = 0; i < cols; i += 16) {
    const __mmask16 m = i + 16 <= cols ? static_cast<__mmask16>(0xffff) : tailMask16(cols - i);
    __m512 raw[4], tw[4];
    for (int rr = 0; rr < 4; rr++) raw[rr] = rr < rn ? rowsL[rr].masked(i, m) : _mm512_setzero_ps();
    transpose4x4(raw, tw);  // (packing is amortised over many tokens: the plain transpose will do)
    const int64_t kb = i / kGemmCols, s0 = (i % kGemmCols) / 4;
    for (int q = 0; q < 4; q++) _mm512_store_ps(panel + kb * blockFloats + ((s0 + q) * kGemmQuads + quad) * 16, tw[q]);
  }
}

/** Packs g ≤ kGemmRows rows (row stride rb) into panel; other types are dequantised via `tmp` first. */
TSD_AVX512 void packGroup(float* panel, int type, const uint8_t* w, size_t rb, int64_t g, int64_t cols, float* tmp) {
  const int64_t stride = (cols + 15) / 16 * 16;
  for (int64_t quad = 0; quad < (g + 3) / 4; quad++) {
    const int64_t rn = std::min<int64_t>(4, g - 4 * quad);
    const uint8_t* src = w + static_cast<size_t>(4 * quad) * rb;
    switch (type) {
      case kF32: {
        RowF32 r[4];
        for (int64_t i = 0; i < rn; i++) r[i] = RowF32(src + i * rb);
        packQuad(panel, r, rn, quad, cols);
        break;
      }
      case kF16: {
        RowF16 r[4];
        for (int64_t i = 0; i < rn; i++) r[i] = RowF16(src + i * rb);
        packQuad(panel, r, rn, quad, cols);
        break;
      }
      case kBF16: {
        RowBF16 r[4];
        for (int64_t i = 0; i < rn; i++) r[i] = RowBF16(src + i * rb);
        packQuad(panel, r, rn, quad, cols);
        break;
      }
      default: {
        RowF32 r[4];
        for (int64_t i = 0; i < rn; i++) {
          dequantRowAvx512(type, src + i * rb, tmp + i * stride, cols);
          r[i] = RowF32(reinterpret_cast<const uint8_t*>(tmp + i * stride));
        }
        packQuad(panel, r, rn, quad, cols);
      }
    }
  }
  // steps past the last column of the last block stay as they were: the tiles stop at kn
}

TSD_AVX512 void gemm(float* y, int64_t ldy, const float* x, int64_t T, int type, int64_t rows, int64_t cols,
                     const uint8_t* w) {
  const int64_t nkb = (cols + kGemmCols - 1) / kGemmCols;
  const int64_t blockFloats = kGemmCols * kGemmRows;  // one packed column block
  thread_local std::vector<uint8_t> panelBuf, rowBuf, partialBuf;
  float* panel = static_cast<float*>(alignedScratch(panelBuf, nkb * blockFloats * sizeof(float)));
  float* row = static_cast<float*>(alignedScratch(rowBuf, 4 * (nkb * kGemmCols + 16) * sizeof(float)));
  __m512* partial = static_cast<__m512*>(alignedScratch(partialBuf, kGemmTokens * kGemmQuads * sizeof(__m512)));
  const size_t rb = rowBytes(type, cols);
  for (int64_t r0 = 0; r0 < rows; r0 += kGemmRows) {
    const int64_t g = std::min(kGemmRows, rows - r0);
    const int64_t quads = (g + 3) / 4;
    // the tail of a column block (cols % 4) must read zeros past `cols` within the last step
    // pack the group: panel[kb][step][quad] = 4 rows × 4 columns (missing rows and columns are 0)
    packGroup(panel, type, w + static_cast<size_t>(r0) * rb, rb, g, cols, row);
    // software prefetch of the next group into L2, spread over this group's tiles
    const char* pfNext = reinterpret_cast<const char*>(w + static_cast<size_t>(std::min(rows, r0 + kGemmRows)) * rb);
    const char* pfEnd = reinterpret_cast<const char*>(w + static_cast<size_t>(std::min(rows, r0 + 2 * kGemmRows)) * rb);
    for (int64_t t0 = 0; t0 < T; t0 += kGemmTokens) {
      const int64_t t1 = std::min(T, t0 + kGemmTokens);
      for (int64_t kb = 0; kb < nkb; kb++) {
        const int64_t k0 = kb * kGemmCols;
        const int64_t kn = std::min(kGemmCols, cols - k0);
        for (int64_t t = t0; t < t1; t += kGemmTileTokens) {
          const int64_t tn = std::min<int64_t>(kGemmTileTokens, t1 - t);
          for (int i = 0; i < 8 && pfNext < pfEnd; i++, pfNext += 64) _mm_prefetch(pfNext, _MM_HINT_T1);
          kGTiles[tn - 1][quads - 1](partial + (t - t0) * kGemmQuads, x + t * cols + k0, cols, panel + kb * blockFloats,
                                     kn, kb == 0, kb == nkb - 1, y + t * ldy + r0, ldy, g);
        }
      }
    }
  }
}

}  // namespace

/** Dequantise a row to f32; SIMD for the common types, bit-identical to the scalar dequantizeRow. */
TSD_AVX512 void dequantRowAvx512(int type, const uint8_t* src, float* dst, int64_t cols) {
  switch (type) {
    case kF16: {
      RowF16 r = RowF16(src);
      int64_t i = 0;
      for (; i + 16 <= cols; i += 16) _mm512_storeu_ps(dst + i, r.at(i));
      if (i < cols) _mm512_mask_storeu_ps(dst + i, tailMask16(cols - i), r.masked(i, tailMask16(cols - i)));
      return;
    }
    case kBF16: {
      RowBF16 r = RowBF16(src);
      int64_t i = 0;
      for (; i + 16 <= cols; i += 16) _mm512_storeu_ps(dst + i, r.at(i));
      if (i < cols) _mm512_mask_storeu_ps(dst + i, tailMask16(cols - i), r.masked(i, tailMask16(cols - i)));
      return;
    }
    case kQ8_0: {
      RowQ8_0 r = RowQ8_0(src);
      for (int64_t k = 0; k < cols / 32; k++) {
        r.begin(k);
        _mm512_storeu_ps(dst + 32 * k, r.part(k, 0));
        _mm512_storeu_ps(dst + 32 * k + 16, r.part(k, 1));
      }
      return;
    }
    case kQ4_0: {
      RowQ4_0 r = RowQ4_0(src);
      for (int64_t k = 0; k < cols / 32; k++) {
        r.begin(k);
        _mm512_storeu_ps(dst + 32 * k, r.part(k, 0));
        _mm512_storeu_ps(dst + 32 * k + 16, r.part(k, 1));
      }
      return;
    }
    default:
      if (!dequantizeRowAvx2(type, src, dst, cols)) dequantizeRow(type, src, dst, cols);
      return;
  }
}

void matmulAvx512(float* y, int64_t ldy, const float* x, int64_t T, int type, int64_t rows, int64_t cols,
                  const uint8_t* w, float* scratch, int64_t scratchStride) {
  if (T <= kMaxDecodeTokens) {
    switch (type) {
      case kF32: return drive<RowF32>(y, ldy, x, T, type, rows, cols, w);
      case kF16: return drive<RowF16>(y, ldy, x, T, type, rows, cols, w);
      case kBF16: return drive<RowBF16>(y, ldy, x, T, type, rows, cols, w);
      default: break;
    }
  }
  gemm(y, ldy, x, T, type, rows, cols, w);
}

}  // namespace tsd
