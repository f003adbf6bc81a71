// AVX2 matmul: f32 micro-tiles of up to 2 tokens × 4 weight rows (8 rows for a single token),
// one 8-lane accumulator per output element (see matmul.h for the determinism argument).
#include <algorithm>

#include "cpu.h"
#include "matmul.h"
#include "quant.h"
#include "simd.h"

namespace tsd {

namespace {

/** Dequantise a row to f32; SIMD for the common types, bit-identical to the scalar dequantizeRow. */
TSD_AVX2 void dequantRowAvx2(int type, const uint8_t* src, float* dst, int64_t cols) {
  switch (type) {
    case kF16: {
      int64_t i = 0;
      for (; i + 8 <= cols; i += 8) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
      }
      for (; i < cols; i++) dst[i] = f16ToF32(loadU16(src + 2 * i));
      return;
    }
    case kBF16: {
      int64_t i = 0;
      for (; i + 8 <= cols; i += 8) {
        const __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(u, 16)));
      }
      for (; i < cols; i++) dst[i] = bf16ToF32(loadU16(src + 2 * i));
      return;
    }
    case kQ8_0: {
      const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(src);
      for (int64_t k = 0; k < cols / 32; k++, dst += 32) {
        const __m256 d = _mm256_set1_ps(loadF16(b[k].d));
        for (int j = 0; j < 4; j++) {
          const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b[k].qs + 8 * j)));
          _mm256_storeu_ps(dst + 8 * j, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
        }
      }
      return;
    }
    case kQ4_0: {
      const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(src);
      const __m128i low4 = _mm_set1_epi8(0x0f);
      const __m256i eight = _mm256_set1_epi32(8);
      for (int64_t k = 0; k < cols / 32; k++, dst += 32) {
        const __m256 d = _mm256_set1_ps(loadF16(b[k].d));
        const __m128i qs = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[k].qs));
        const __m128i lo = _mm_and_si128(qs, low4);
        const __m128i hi = _mm_and_si128(_mm_srli_epi16(qs, 4), low4);
        const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
        for (int j = 0; j < 4; j++) {
          const __m256i q = _mm256_sub_epi32(_mm256_cvtepu8_epi32(parts[j]), eight);
          _mm256_storeu_ps(dst + 8 * j, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
        }
      }
      return;
    }
    default: dequantizeRow(type, src, dst, cols); return;
  }
}

/** y[t × ldy + r] = x[t × ldx …] · w[r][…] for t < TT, r < R. */
template <int TT, int R>
TSD_AVX2 void tileAvx2(float* y, int64_t ldy, const float* x, int64_t ldx, const float* const* w, int64_t cols) {
  __m256 acc[TT][R];
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) acc[t][r] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= cols; i += 8) {
    if (TT == 1) {
      const __m256 xv = _mm256_loadu_ps(x + i);
      for (int r = 0; r < R; r++) acc[0][r] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w[r] + i), acc[0][r]);
    } else {
      __m256 wv[R];
      for (int r = 0; r < R; r++) wv[r] = _mm256_loadu_ps(w[r] + i);
      for (int t = 0; t < TT; t++) {
        const __m256 xv = _mm256_loadu_ps(x + t * ldx + i);
        for (int r = 0; r < R; r++) acc[t][r] = _mm256_fmadd_ps(xv, wv[r], acc[t][r]);
      }
    }
  }
  if (i < cols) {
    const __m256i m = tailMask8(cols - i);
    for (int t = 0; t < TT; t++) {
      const __m256 xv = _mm256_maskload_ps(x + t * ldx + i, m);
      for (int r = 0; r < R; r++) acc[t][r] = _mm256_fmadd_ps(xv, _mm256_maskload_ps(w[r] + i, m), acc[t][r]);
    }
  }
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) y[t * ldy + r] = hsum256(acc[t][r]);
}

using TileFn = void (*)(float*, int64_t, const float*, int64_t, const float* const*, int64_t);

// kTiles[tt - 1][r - 1]; 2 tokens use at most 4 rows (8 accumulators), 1 token up to 8 rows.
const TileFn kTiles[2][8] = {
    {tileAvx2<1, 1>, tileAvx2<1, 2>, tileAvx2<1, 3>, tileAvx2<1, 4>, tileAvx2<1, 5>, tileAvx2<1, 6>, tileAvx2<1, 7>,
     tileAvx2<1, 8>},
    {tileAvx2<2, 1>, tileAvx2<2, 2>, tileAvx2<2, 3>, tileAvx2<2, 4>, nullptr, nullptr, nullptr, nullptr},
};

}  // namespace

void matmulAvx2(float* y, const float* x, int64_t T, int type, int64_t rows, int64_t cols, const uint8_t* w,
                float* scratch) {
  const size_t rb = rowBytes(type, cols);
  const int64_t tb = tokenBlock(cols);
  const int64_t panel = T == 1 ? 8 : 4;
  const float* wp[kMaxPanelRows];
  for (int64_t t0 = 0; t0 < T; t0 += tb) {
    const int64_t t1 = std::min(T, t0 + tb);
    for (int64_t r0 = 0; r0 < rows; r0 += panel) {
      const int64_t rn = std::min(panel, rows - r0);
      for (int64_t r = 0; r < rn; r++) {
        const uint8_t* src = w + static_cast<size_t>(r0 + r) * rb;
        if (type == kF32) {
          wp[r] = reinterpret_cast<const float*>(src);  // only ever read with unaligned loads
        } else {
          dequantRowAvx2(type, src, scratch + r * cols, cols);
          wp[r] = scratch + r * cols;
        }
      }
      for (int64_t t = t0; t < t1; t += 2) {
        const int64_t tn = std::min<int64_t>(2, t1 - t);
        kTiles[tn - 1][rn - 1](y + t * rows + r0, rows, x + t * cols, cols, wp, cols);
      }
    }
  }
}

}  // namespace tsd
