// AVX-512 matmul. Each output element is one dot product over `cols` with a single 16-lane
// accumulator: columns in chunks of 16 in order, a masked tail, then hsum512 (see matmul.h).
//
// For few tokens (decode) row loaders convert F32/F16/BF16 on the fly (block formats take the
// integer route, qmatmul.h; their loaders serve getRows). For more tokens a K-blocked GEMM works on groups of
// rows dequantised once to f32 and keeps each element's 16-lane accumulator between column blocks.
// Dequantisation is exact (same float value either way) and both routes perform the same FMAs per
// lane in the same order, so they give bit-identical results and the route may depend on T.
#include <algorithm>
#include <vector>

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
 * Few tokens (decode): token blocks → panels of weight rows → tiles of up to kMaxTileTokens tokens,
 * the loader converting the weights on the fly (each weight byte is read once per token block).
 */
template <class L>
TSD_AVX512 void drive(float* y, int64_t ldy, const float* x, int64_t T, int type, int64_t rows, int64_t cols,
                      const uint8_t* w) {
  const size_t rb = rowBytes(type, cols);
  const int64_t tb = tokenBlock(cols);
  const int64_t panel = T == 1 ? 8 : 4;
  L wr[kMaxPanelRows];
  for (int64_t t0 = 0; t0 < T; t0 += tb) {
    const int64_t t1 = std::min(T, t0 + tb);
    for (int64_t r0 = 0; r0 < rows; r0 += panel) {
      const int64_t rn = std::min(panel, rows - r0);
      // prefetch the next panel while the first token tile streams this one
      const int64_t pf = t0 > 0 ? 0 : std::max<int64_t>(panel * static_cast<int64_t>(rb), kPrefetchMin);
      for (int64_t r = 0; r < rn; r++) wr[r] = L(w + static_cast<size_t>(r0 + r) * rb);
      for (int64_t t = t0; t < t1; t += kMaxTileTokens) {
        const int64_t tn = std::min<int64_t>(kMaxTileTokens, t1 - t);
        kTiles<L>[tn - 1][rn - 1](y + t * ldy + r0, ldy, x + t * cols, cols, wr, cols, t == t0 ? pf : 0);
      }
    }
  }
}

// ---- many tokens: a K-blocked GEMM over dequantised f32 panels -----------------------------------
//
// A group of kGemmRows weight rows is dequantised kGemmCols columns at a time into scratch (L1) and
// multiplied with every token of a block; between column blocks each (token, row) keeps its 16-lane
// accumulator in a partial-sum buffer (L2), so the sequence of FMAs per lane is exactly the one of
// the decode route (16-column chunks in order, masked tail last) and the results are bit-identical.

constexpr int64_t kGemmRows = 16;
constexpr int64_t kGemmCols = 512;
constexpr int64_t kGemmTokens = 256;
constexpr int kGemmTileTokens = 6;

/**
 * acc[t][r] over columns [0, kn) of the current column block for TT tokens × R rows: starts from
 * zero (first block) or P, ends in P or, for the last block, reduced into y.
 */
template <int TT, int R>
TSD_AVX512 void gemmTile(__m512* P, const float* x, int64_t ldx, const float* wk, int64_t kn, bool first, bool last,
                         float* y, int64_t ldy) {
  __m512 acc[TT][R];
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) acc[t][r] = first ? _mm512_setzero_ps() : P[t * kGemmRows + r];
  int64_t i = 0;
  for (; i + 16 <= kn; i += 16) {
    __m512 wv[R];
    for (int r = 0; r < R; r++) wv[r] = _mm512_load_ps(wk + r * kGemmCols + i);
    for (int t = 0; t < TT; t++) {
      const __m512 xv = _mm512_loadu_ps(x + t * ldx + i);
      for (int r = 0; r < R; r++) acc[t][r] = _mm512_fmadd_ps(xv, wv[r], acc[t][r]);
    }
  }
  if (i < kn) {
    const __mmask16 m = tailMask16(kn - i);
    __m512 wv[R];
    for (int r = 0; r < R; r++) wv[r] = _mm512_maskz_load_ps(m, wk + r * kGemmCols + i);
    for (int t = 0; t < TT; t++) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x + t * ldx + i);
      for (int r = 0; r < R; r++) acc[t][r] = _mm512_fmadd_ps(xv, wv[r], acc[t][r]);
    }
  }
  if (last) {
    for (int t = 0; t < TT; t++)
      for (int r = 0; r < R; r++) y[t * ldy + r] = hsum512(acc[t][r]);
  } else {
    for (int t = 0; t < TT; t++)
      for (int r = 0; r < R; r++) P[t * kGemmRows + r] = acc[t][r];
  }
}

using GemmTileFn = void (*)(__m512*, const float*, int64_t, const float*, int64_t, bool, bool, float*, int64_t);

const GemmTileFn kGemmTiles[kGemmTileTokens][4] = {
    {gemmTile<1, 1>, gemmTile<1, 2>, gemmTile<1, 3>, gemmTile<1, 4>},
    {gemmTile<2, 1>, gemmTile<2, 2>, gemmTile<2, 3>, gemmTile<2, 4>},
    {gemmTile<3, 1>, gemmTile<3, 2>, gemmTile<3, 3>, gemmTile<3, 4>},
    {gemmTile<4, 1>, gemmTile<4, 2>, gemmTile<4, 3>, gemmTile<4, 4>},
    {gemmTile<5, 1>, gemmTile<5, 2>, gemmTile<5, 3>, gemmTile<5, 4>},
    {gemmTile<6, 1>, gemmTile<6, 2>, gemmTile<6, 3>, gemmTile<6, 4>},
};

/** 64-byte aligned thread-local buffer of at least `bytes`. */
inline void* alignedScratch(std::vector<uint8_t>& buf, size_t bytes) {
  if (buf.size() < bytes + 64) buf.resize(bytes + 64);
  return buf.data() + (64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64;
}

TSD_AVX512 void gemm(float* y, int64_t ldy, const float* x, int64_t T, int type, int64_t rows, int64_t cols,
                     const uint8_t* w) {
  const int64_t nkb = (cols + kGemmCols - 1) / kGemmCols;
  thread_local std::vector<uint8_t> panelBuf, partialBuf;
  // the group's rows, dequantised, column block by column block: panel[kb][r][kGemmCols]
  float* panel = static_cast<float*>(alignedScratch(panelBuf, nkb * kGemmRows * kGemmCols * sizeof(float)));
  __m512* partial = static_cast<__m512*>(alignedScratch(partialBuf, kGemmTokens * kGemmRows * sizeof(__m512)));
  const size_t rb = rowBytes(type, cols);
  for (int64_t r0 = 0; r0 < rows; r0 += kGemmRows) {
    const int64_t g = std::min(kGemmRows, rows - r0);
    for (int64_t r = 0; r < g; r++) {
      const uint8_t* src = w + static_cast<size_t>(r0 + r) * rb;
      for (int64_t kb = 0; kb < nkb; kb++) {
        const int64_t k0 = kb * kGemmCols;
        dequantRowAvx512(type, src + rowBytes(type, k0), panel + (kb * kGemmRows + r) * kGemmCols,
                         std::min(kGemmCols, cols - k0));
      }
    }
    // software prefetch of the next group into L2, spread over this group's tiles
    const char* pfNext = reinterpret_cast<const char*>(w + static_cast<size_t>(std::min(rows, r0 + kGemmRows)) * rb);
    const char* pfEnd = reinterpret_cast<const char*>(w + static_cast<size_t>(std::min(rows, r0 + 2 * kGemmRows)) * rb);
    const int64_t tileCalls = nkb * ((T + kGemmTileTokens - 1) / kGemmTileTokens);
    const int64_t pfPerTile = (pfEnd - pfNext + 64 * tileCalls - 1) / (64 * tileCalls);
    for (int64_t t0 = 0; t0 < T; t0 += kGemmTokens) {
      const int64_t t1 = std::min(T, t0 + kGemmTokens);
      for (int64_t kb = 0; kb < nkb; kb++) {
        const int64_t k0 = kb * kGemmCols;
        const int64_t kn = std::min(kGemmCols, cols - k0);
        const bool first = kb == 0, last = kb == nkb - 1;
        const float* pk = panel + kb * kGemmRows * kGemmCols;
        for (int64_t t = t0; t < t1; t += kGemmTileTokens) {
          const int64_t tn = std::min<int64_t>(kGemmTileTokens, t1 - t);
          for (int64_t i = 0; i < pfPerTile && pfNext < pfEnd; i++, pfNext += 64) _mm_prefetch(pfNext, _MM_HINT_T1);
          for (int64_t rp = 0; rp < g; rp += 4) {
            const int64_t rn = std::min<int64_t>(4, g - rp);
            kGemmTiles[tn - 1][rn - 1](partial + (t - t0) * kGemmRows + rp, x + t * cols + k0, cols, pk + rp * kGemmCols,
                                       kn, first, last, y + t * ldy + r0 + rp, ldy);
          }
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
  // F32 rows need no conversion: the direct route streams them with prefetch for up to 16 tokens
  if (T <= kFusedMaxTokens || (type == kF32 && T <= 16)) {
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
