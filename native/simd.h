// Small vector helpers per ISA, shared by the matmul and attention kernels.
//
// Determinism: each dot product uses one accumulator of the ISA's width (8 scalar lanes, 8 AVX2
// lanes, 16 AVX-512 lanes) filled in column order, a masked (zero-padded) tail, and a fixed
// horizontal reduction. The result therefore depends only on the length and the ISA, never on how
// many other rows or tokens are processed alongside.
#pragma once
// GCC 12's intrinsic headers self-initialise "undefined" vectors (`__m512 __Y = __Y;`), which
// -Wall reports once those intrinsics are inlined into target("avx512f") functions (GCC bug
// 105593, fixed in GCC 13). The suppression is limited to locations inside the header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#include "cpu.h"

namespace tsd {

/** Prefetch the cache lines of [p, p + n) with hint kHint (_MM_HINT_T0: into L1, _MM_HINT_T1: L2). */
template <int kHint>
inline void prefetchLines(const void* p, int64_t n) {
  const uintptr_t end = reinterpret_cast<uintptr_t>(p) + static_cast<uintptr_t>(n);
  for (uintptr_t o = reinterpret_cast<uintptr_t>(p) & ~uintptr_t{63}; o < end; o += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(o), static_cast<_mm_hint>(kHint));
  }
}

// ---- scalar ---------------------------------------------------------------------------------

inline float hsum8(const float* a) { return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])); }

inline float dotScalar(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) acc[l] += a[i + l] * b[i + l];
  }
  for (int l = 0; i + l < n; l++) acc[l] += a[i + l] * b[i + l];
  return hsum8(acc);
}

/** y[i] += a · x[i] */
inline void axpyScalar(float* y, float a, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

// ---- AVX2 -----------------------------------------------------------------------------------

alignas(32) static const int32_t kMaskTable8[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/** Mask selecting the first `rem` (0…8) lanes. */
TSD_AVX2 inline __m256i tailMask8(int64_t rem) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable8 + 8 - rem));
}

TSD_AVX2 inline float hsum256(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

TSD_AVX2 inline float dotAvx2(const float* a, const float* b, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  if (i < n) {
    const __m256i m = tailMask8(n - i);
    acc = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), acc);
  }
  return hsum256(acc);
}

TSD_AVX2 inline void axpyAvx2(float* y, float a, const float* x, int64_t n) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; i++) y[i] = __builtin_fmaf(a, x[i], y[i]);
}

/**
 * e^x (max error a few ulp): 2^n · e^r with n = round(x·log2 e), r by a Cephes-style polynomial.
 * Overflows to +inf like expf; below −87.3 returns ≈1e-38 instead of a denormal or 0. NaN propagates.
 */
TSD_AVX2 inline __m256 exp256(__m256 x0) {
  __m256 x = _mm256_max_ps(_mm256_set1_ps(-87.3f), x0);  // keeps 2^n a normal float
  x = _mm256_min_ps(_mm256_set1_ps(88.3f), x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  const __m256 over = _mm256_cmp_ps(x0, _mm256_set1_ps(88.72283f), _CMP_GT_OQ);
  return _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), over);
}

// ---- AVX-512 --------------------------------------------------------------------------------

TSD_AVX512 inline __mmask16 tailMask16(int64_t rem) { return static_cast<__mmask16>((1u << rem) - 1u); }

TSD_AVX512 inline float hsum512(__m512 v) {
  // fixed order: fold 256-bit halves, then 128-bit halves, then pairs, then neighbours
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm512_cvtss_f32(v);
}

TSD_AVX512 inline float dotAvx512(const float* a, const float* b, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
  if (i < n) {
    const __mmask16 m = tailMask16(n - i);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc);
  }
  return hsum512(acc);
}

TSD_AVX512 inline void axpyAvx512(float* y, float a, const float* x, int64_t n) {
  const __m512 av = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  }
  if (i < n) {
    const __mmask16 m = tailMask16(n - i);
    _mm512_mask_storeu_ps(y + i, m,
                          _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

/**
 * e^x (max error a few ulp): 2^n · e^r as exp256, scaled with scalef, which also gives 0 on
 * underflow and +inf on overflow. NaN propagates.
 */
TSD_AVX512 inline __m512 exp512(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);  // e^-104 underflows to 0 anyway
  x = _mm512_min_ps(_mm512_set1_ps(88.8f), x);    // e^88.8 overflows to +inf anyway
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

}  // namespace tsd
