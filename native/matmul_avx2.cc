// AVX2 matmul: the AVX-512 design (matmul_avx512.cc) with 8-lane accumulators, columns in chunks
// of 8 in order, a masked tail and hsum256; tiles of up to 2 tokens × 4 weight rows.
#include <algorithm>

#include "cpu.h"
#include "dequant.h"
#include "matmul.h"
#include "quant.h"
#include "simd.h"

namespace tsd {

namespace {

// ---- row loaders: begin(k) prepares 32-column block k, part(k, j) returns columns 32k+8j…+7;
// at(i) / masked(i, rem) serve the tail of element-wise types (never reached for block formats).

struct RowF32 {
  const float* p = nullptr;
  RowF32() = default;
  explicit RowF32(const uint8_t* q) : p(reinterpret_cast<const float*>(q)) {}  // read with unaligned loads only
  const uint8_t* addr(int64_t k) const { return reinterpret_cast<const uint8_t*>(p + 32 * k); }
  static constexpr int kBlockBytes = 128;
  TSD_AVX2 void begin(int64_t) {}
  TSD_AVX2 __m256 at(int64_t i) const { return _mm256_loadu_ps(p + i); }
  TSD_AVX2 __m256 part(int64_t k, int j) const { return at(32 * k + 8 * j); }
  TSD_AVX2 __m256 masked(int64_t i, int64_t rem) const { return _mm256_maskload_ps(p + i, tailMask8(rem)); }
};

/** Zero-padded tail of ≤ 7 half/bfloat16 values (AVX2 has no masked 16-bit loads). */
TSD_AVX2 inline __m128i tail16(const uint16_t* p, int64_t rem) {
  alignas(16) uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t l = 0; l < rem; l++) tmp[l] = p[l];
  return _mm_load_si128(reinterpret_cast<const __m128i*>(tmp));
}

struct RowF16 {
  const uint16_t* p = nullptr;
  RowF16() = default;
  explicit RowF16(const uint8_t* q) : p(reinterpret_cast<const uint16_t*>(q)) {}
  const uint8_t* addr(int64_t k) const { return reinterpret_cast<const uint8_t*>(p + 32 * k); }
  static constexpr int kBlockBytes = 64;
  TSD_AVX2 void begin(int64_t) {}
  TSD_AVX2 __m256 at(int64_t i) const {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
  }
  TSD_AVX2 __m256 part(int64_t k, int j) const { return at(32 * k + 8 * j); }
  TSD_AVX2 __m256 masked(int64_t i, int64_t rem) const { return _mm256_cvtph_ps(tail16(p + i, rem)); }
};

struct RowBF16 {
  const uint16_t* p = nullptr;
  RowBF16() = default;
  explicit RowBF16(const uint8_t* q) : p(reinterpret_cast<const uint16_t*>(q)) {}
  const uint8_t* addr(int64_t k) const { return reinterpret_cast<const uint8_t*>(p + 32 * k); }
  static constexpr int kBlockBytes = 64;
  TSD_AVX2 static __m256 widen(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }
  TSD_AVX2 void begin(int64_t) {}
  TSD_AVX2 __m256 at(int64_t i) const { return widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i))); }
  TSD_AVX2 __m256 part(int64_t k, int j) const { return at(32 * k + 8 * j); }
  TSD_AVX2 __m256 masked(int64_t i, int64_t rem) const { return widen(tail16(p + i, rem)); }
};

TSD_AVX2 inline __m256 broadcastF16(const uint8_t* d) {
  return _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(loadU16(d))));
}

struct RowQ8_0 {
  const BlockQ8_0* b = nullptr;
  __m256 d;  // scale of the current block
  RowQ8_0() = default;
  explicit RowQ8_0(const uint8_t* q) : b(reinterpret_cast<const BlockQ8_0*>(q)) {}
  const uint8_t* addr(int64_t k) const { return reinterpret_cast<const uint8_t*>(b + k); }
  static constexpr int kBlockBytes = sizeof(BlockQ8_0);
  TSD_AVX2 void begin(int64_t k) { d = broadcastF16(b[k].d); }
  TSD_AVX2 __m256 part(int64_t k, int j) const {
    const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b[k].qs + 8 * j)));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(q), d);
  }
  TSD_AVX2 __m256 at(int64_t) const { return _mm256_setzero_ps(); }
  TSD_AVX2 __m256 masked(int64_t, int64_t) const { return _mm256_setzero_ps(); }
};

struct RowQ4_0 {
  const BlockQ4_0* b = nullptr;
  __m256 d;  // scale of the current block
  RowQ4_0() = default;
  explicit RowQ4_0(const uint8_t* q) : b(reinterpret_cast<const BlockQ4_0*>(q)) {}
  const uint8_t* addr(int64_t k) const { return reinterpret_cast<const uint8_t*>(b + k); }
  static constexpr int kBlockBytes = sizeof(BlockQ4_0);
  TSD_AVX2 void begin(int64_t k) { d = broadcastF16(b[k].d); }
  // parts 0, 1: low nibbles of qs[0…7], qs[8…15]; parts 2, 3: their high nibbles
  TSD_AVX2 __m256 part(int64_t k, int j) const {
    __m128i qs = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b[k].qs + 8 * (j & 1)));
    if (j >= 2) qs = _mm_srli_epi16(qs, 4);
    const __m256i q = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_and_si128(qs, _mm_set1_epi8(0x0f))),
                                       _mm256_set1_epi32(8));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(q), d);
  }
  TSD_AVX2 __m256 at(int64_t) const { return _mm256_setzero_ps(); }
  TSD_AVX2 __m256 masked(int64_t, int64_t) const { return _mm256_setzero_ps(); }
};

/** y[t × ldy + r] = x[t × ldx …] · row r, for t < TT, r < R. */
template <int TT, int R, class L>
TSD_AVX2 void tile(float* y, int64_t ldy, const float* x, int64_t ldx, L* w, int64_t cols, int64_t pf) {
  __m256 acc[TT][R];
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) acc[t][r] = _mm256_setzero_ps();
  const int64_t nb = cols / 32;
  for (int64_t k = 0; k < nb; k++) {
    for (int r = 0; r < R; r++) {
      w[r].begin(k);
      // software prefetch `pf` bytes ahead (the next panel of rows); weights stream from DRAM
      if (pf != 0) {
        for (int c = 0; c < L::kBlockBytes; c += 64) _mm_prefetch(reinterpret_cast<const char*>(w[r].addr(k) + pf + c), _MM_HINT_T0);
      }
    }
    for (int j = 0; j < 4; j++) {
      __m256 wv[R];
      for (int r = 0; r < R; r++) wv[r] = w[r].part(k, j);
      for (int t = 0; t < TT; t++) {
        const __m256 xv = _mm256_loadu_ps(x + t * ldx + 32 * k + 8 * j);
        for (int r = 0; r < R; r++) acc[t][r] = _mm256_fmadd_ps(xv, wv[r], acc[t][r]);
      }
    }
  }
  int64_t i = 32 * nb;
  for (; i + 8 <= cols; i += 8) {
    __m256 wv[R];
    for (int r = 0; r < R; r++) wv[r] = w[r].at(i);
    for (int t = 0; t < TT; t++) {
      const __m256 xv = _mm256_loadu_ps(x + t * ldx + i);
      for (int r = 0; r < R; r++) acc[t][r] = _mm256_fmadd_ps(xv, wv[r], acc[t][r]);
    }
  }
  if (i < cols) {
    const __m256i m = tailMask8(cols - i);
    __m256 wv[R];
    for (int r = 0; r < R; r++) wv[r] = w[r].masked(i, cols - i);
    for (int t = 0; t < TT; t++) {
      const __m256 xv = _mm256_maskload_ps(x + t * ldx + i, m);
      for (int r = 0; r < R; r++) acc[t][r] = _mm256_fmadd_ps(xv, wv[r], acc[t][r]);
    }
  }
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) y[t * ldy + r] = hsum256(acc[t][r]);
}

template <class L>
using TileFn = void (*)(float*, int64_t, const float*, int64_t, L*, int64_t, int64_t);

template <class L>
const TileFn<L> kTiles[2][4] = {
    {tile<1, 1, L>, tile<1, 2, L>, tile<1, 3, L>, tile<1, 4, L>},
    {tile<2, 1, L>, tile<2, 2, L>, tile<2, 3, L>, tile<2, 4, L>},
};


/** Loop nest as in matmul_avx512.cc: token blocks → panels of 4 weight rows → tiles of ≤ 2 tokens. */
template <class L, bool kScratch>
TSD_AVX2 void drive(float* y, int64_t ldy, const float* x, int64_t T, int type, int64_t rows, int64_t cols,
                    const uint8_t* w, float* scratch, int64_t scratchStride) {
  const size_t rb = rowBytes(type, cols);
  const int64_t tb = tokenBlock(cols);
  const int64_t panel = 4;
  L wr[4];
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
          dequantRowAvx2(type, src, dst, cols);
          wr[r] = L(reinterpret_cast<const uint8_t*>(dst));
        } else {
          wr[r] = L(src);
        }
      }
      for (int64_t t = t0; t < t1; t += 2) {
        const int64_t tn = std::min<int64_t>(2, t1 - t);
        kTiles<L>[tn - 1][rn - 1](y + t * ldy + r0, ldy, x + t * cols, cols, wr, cols, t == t0 ? pf : 0);
      }
    }
  }
}

}  // namespace

/** Dequantise a row to f32; SIMD for the common types, bit-identical to the scalar dequantizeRow. */
TSD_AVX2 void dequantRowAvx2(int type, const uint8_t* src, float* dst, int64_t cols) {
  switch (type) {
    case kF16: {
      RowF16 r(src);
      int64_t i = 0;
      for (; i + 8 <= cols; i += 8) _mm256_storeu_ps(dst + i, r.at(i));
      for (; i < cols; i++) dst[i] = f16ToF32(loadU16(src + 2 * i));
      return;
    }
    case kBF16: {
      RowBF16 r(src);
      int64_t i = 0;
      for (; i + 8 <= cols; i += 8) _mm256_storeu_ps(dst + i, r.at(i));
      for (; i < cols; i++) dst[i] = bf16ToF32(loadU16(src + 2 * i));
      return;
    }
    case kQ8_0: {
      RowQ8_0 r(src);
      for (int64_t k = 0; k < cols / 32; k++) {
        r.begin(k);
        for (int j = 0; j < 4; j++) _mm256_storeu_ps(dst + 32 * k + 8 * j, r.part(k, j));
      }
      return;
    }
    case kQ4_0: {
      RowQ4_0 r(src);
      for (int64_t k = 0; k < cols / 32; k++) {
        r.begin(k);
        for (int j = 0; j < 4; j++) _mm256_storeu_ps(dst + 32 * k + 8 * j, r.part(k, j));
      }
      return;
    }
    default:
      if (!dequantizeRowAvx2(type, src, dst, cols)) dequantizeRow(type, src, dst, cols);
      return;
  }
}

void matmulAvx2(float* y, int64_t ldy, const float* x, int64_t T, int type, int64_t rows, int64_t cols,
                const uint8_t* w, float* scratch, int64_t scratchStride) {
  if (T <= kFusedMaxTokens || type == kF32) {
    switch (type) {
      case kF32: return drive<RowF32, false>(y, ldy, x, T, type, rows, cols, w, scratch, scratchStride);
      case kF16: return drive<RowF16, false>(y, ldy, x, T, type, rows, cols, w, scratch, scratchStride);
      case kBF16: return drive<RowBF16, false>(y, ldy, x, T, type, rows, cols, w, scratch, scratchStride);
      default: break;
    }
  }
  drive<RowF32, true>(y, ldy, x, T, type, rows, cols, w, scratch, scratchStride);
}

}  // namespace tsd
