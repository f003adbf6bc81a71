// AVX-512 matmul. Each output element is one dot product over `cols` with a single 16-lane
// accumulator: columns in chunks of 16 in order, a masked tail, then hsum512 (see matmul.h).
//
// Weights reach the micro-kernel through a row loader: for few tokens (decode) the loaders convert
// F16/BF16/Q8_0/Q4_0 on the fly, otherwise rows are dequantised once into an f32 scratch panel and
// shared by many tokens. Dequantisation is exact (same float value either way), so both routes give
// bit-identical results and the route may depend on T.
#include <algorithm>

#include "cpu.h"
#include "dequant.h"
#include "matmul.h"
#include "quant.h"
#include "simd.h"

namespace tsd {

namespace {

constexpr int64_t kMaxTileTokens = 6;

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

/** y[t × ldy + r] = x[t × ldx …] · row r, for t < TT, r < R. */
template <int TT, int R, class L>
TSD_AVX512 void tile(float* y, int64_t ldy, const float* x, int64_t ldx, L* w, int64_t cols, int64_t pf) {
  __m512 acc[TT][R];
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) acc[t][r] = _mm512_setzero_ps();
  const int64_t nb = cols / 32;
  for (int64_t k = 0; k < nb; k++) {
    for (int r = 0; r < R; r++) {
      w[r].begin(k);
      // software prefetch `pf` bytes ahead (the next panel of rows); weights stream from DRAM
      if (pf != 0) {
        for (int c = 0; c < L::kBlockBytes; c += 64) _mm_prefetch(reinterpret_cast<const char*>(w[r].addr(k) + pf + c), _MM_HINT_T0);
      }
    }
    for (int j = 0; j < 2; j++) {
      __m512 wv[R];
      for (int r = 0; r < R; r++) wv[r] = w[r].part(k, j);
      for (int t = 0; t < TT; t++) {
        const __m512 xv = _mm512_loadu_ps(x + t * ldx + 32 * k + 16 * j);
        for (int r = 0; r < R; r++) acc[t][r] = _mm512_fmadd_ps(xv, wv[r], acc[t][r]);
      }
    }
  }
  int64_t i = 32 * nb;
  if (i + 16 <= cols) {
    __m512 wv[R];
    for (int r = 0; r < R; r++) wv[r] = w[r].at(i);
    for (int t = 0; t < TT; t++) {
      const __m512 xv = _mm512_loadu_ps(x + t * ldx + i);
      for (int r = 0; r < R; r++) acc[t][r] = _mm512_fmadd_ps(xv, wv[r], acc[t][r]);
    }
    i += 16;
  }
  if (i < cols) {
    const __mmask16 m = tailMask16(cols - i);
    __m512 wv[R];
    for (int r = 0; r < R; r++) wv[r] = w[r].masked(i, m);
    for (int t = 0; t < TT; t++) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x + t * ldx + i);
      for (int r = 0; r < R; r++) acc[t][r] = _mm512_fmadd_ps(xv, wv[r], acc[t][r]);
    }
  }
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) y[t * ldy + r] = hsum512(acc[t][r]);
}

template <class L>
using TileFn = void (*)(float*, int64_t, const float*, int64_t, L*, int64_t, int64_t);

// kTiles<L>[tt - 1][r - 1]: 2…6 tokens use at most 4 rows (≤ 24 accumulators), 1 token up to 8.
template <class L>
const TileFn<L> kTiles[kMaxTileTokens][8] = {
    {tile<1, 1, L>, tile<1, 2, L>, tile<1, 3, L>, tile<1, 4, L>, tile<1, 5, L>, tile<1, 6, L>, tile<1, 7, L>,
     tile<1, 8, L>},
    {tile<2, 1, L>, tile<2, 2, L>, tile<2, 3, L>, tile<2, 4, L>, nullptr, nullptr, nullptr, nullptr},
    {tile<3, 1, L>, tile<3, 2, L>, tile<3, 3, L>, tile<3, 4, L>, nullptr, nullptr, nullptr, nullptr},
    {tile<4, 1, L>, tile<4, 2, L>, tile<4, 3, L>, tile<4, 4, L>, nullptr, nullptr, nullptr, nullptr},
    {tile<5, 1, L>, tile<5, 2, L>, tile<5, 3, L>, tile<5, 4, L>, nullptr, nullptr, nullptr, nullptr},
    {tile<6, 1, L>, tile<6, 2, L>, tile<6, 3, L>, tile<6, 4, L>, nullptr, nullptr, nullptr, nullptr},
};

/**
 * Loop nest: token blocks (activations stay cached) → panels of weight rows → tiles of up to 4
 * (few-token route) or kMaxTileTokens tokens. With kScratch the panel's rows are first dequantised
 * to f32 scratch (L = RowF32).
 */
template <class L, bool kScratch>
TSD_AVX512 void drive(float* y, int64_t ldy, const float* x, int64_t T, int type, int64_t rows, int64_t cols,
                      const uint8_t* w, float* scratch, int64_t scratchStride) {
  const size_t rb = rowBytes(type, cols);
  const int64_t tb = tokenBlock(cols);
  const int64_t panel = T == 1 ? 8 : 4;
  L wr[kMaxPanelRows];
  for (int64_t t0 = 0; t0 < T; t0 += tb) {
    const int64_t t1 = std::min(T, t0 + tb);
    for (int64_t r0 = 0; r0 < rows; r0 += panel) {
      const int64_t rn = std::min(panel, rows - r0);
      // prefetch the next panel while the first token tile streams this one (direct route only)
      const int64_t pf = kScratch || t0 > 0 ? 0 : std::max<int64_t>(panel * static_cast<int64_t>(rb), kPrefetchMin);
      for (int64_t r = 0; r < rn; r++) {
        const uint8_t* src = w + static_cast<size_t>(r0 + r) * rb;
        if (kScratch) {
          float* dst = scratch + r * scratchStride;
          dequantRowAvx512(type, src, dst, cols);
          wr[r] = L(reinterpret_cast<const uint8_t*>(dst));
        } else {
          wr[r] = L(src);
        }
      }
      for (int64_t t = t0; t < t1; t += kMaxTileTokens) {
        const int64_t tn = std::min<int64_t>(kMaxTileTokens, t1 - t);
        kTiles<L>[tn - 1][rn - 1](y + t * ldy + r0, ldy, x + t * cols, cols, wr, cols, t == t0 ? pf : 0);
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
  if (T <= kFusedMaxTokens || type == kF32) {
    switch (type) {
      case kF32: return drive<RowF32, false>(y, ldy, x, T, type, rows, cols, w, scratch, scratchStride);
      case kF16: return drive<RowF16, false>(y, ldy, x, T, type, rows, cols, w, scratch, scratchStride);
      case kBF16: return drive<RowBF16, false>(y, ldy, x, T, type, rows, cols, w, scratch, scratchStride);
      case kQ8_0: return drive<RowQ8_0, false>(y, ldy, x, T, type, rows, cols, w, scratch, scratchStride);
      case kQ4_0: return drive<RowQ4_0, false>(y, ldy, x, T, type, rows, cols, w, scratch, scratchStride);
      default: break;
    }
  }
  drive<RowF32, true>(y, ldy, x, T, type, rows, cols, w, scratch, scratchStride);
}

}  // namespace tsd
