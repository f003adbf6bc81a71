// AVX2 dequantisation of the block formats without a fused matmul loader (Q4_1, Q5_0, Q5_1, Q4_K,
// Q5_K, Q6_K). Every value is computed with the same float operations as the scalar code in
// dequant.cc (one multiply, then one add/subtract where the format has a min), so the results are
// bit-identical. Used by both SIMD matmul variants (AVX-512 CPUs run it too).
#include "dequant.h"
#include "quant.h"
#include "simd.h"

namespace tsd {

namespace {

/** dst[0…7] = float(bytes[0…7] − bias) · scale (− min when kMin). */
template <bool kMin>
TSD_AVX2 inline void store8(float* dst, __m128i bytes, int bias, __m256 scale, __m256 min) {
  const __m256i q = _mm256_sub_epi32(_mm256_cvtepu8_epi32(bytes), _mm256_set1_epi32(bias));
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(q), scale);
  if (kMin) v = _mm256_sub_ps(v, min);
  _mm256_storeu_ps(dst, v);
}

/** dst[0…31] from 32 bytes (see store8). */
template <bool kMin>
TSD_AVX2 inline void store32(float* dst, __m256i bytes, int bias, __m256 scale, __m256 min) {
  const __m128i lo = _mm256_castsi256_si128(bytes), hi = _mm256_extracti128_si256(bytes, 1);
  store8<kMin>(dst, lo, bias, scale, min);
  store8<kMin>(dst + 8, _mm_srli_si128(lo, 8), bias, scale, min);
  store8<kMin>(dst + 16, hi, bias, scale, min);
  store8<kMin>(dst + 24, _mm_srli_si128(hi, 8), bias, scale, min);
}

/** dst[0…15] from 16 bytes with one scale. */
TSD_AVX2 inline void store16(float* dst, __m128i bytes, int bias, __m256 scale) {
  store8<false>(dst, bytes, bias, scale, scale);
  store8<false>(dst + 8, _mm_srli_si128(bytes, 8), bias, scale, scale);
}

/** The 32 quant nibbles of a 32-block: low nibbles of qs[0…15] (elements 0…15), then high ones. */
TSD_AVX2 inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i m = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}

/** Byte j = 0x10 if bit j of qh is set, else 0 (the 5th bit of Q5_0/Q5_1). */
TSD_AVX2 inline __m256i highBits32(uint32_t qh) {
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(qh)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

TSD_AVX2 inline __m256 splat(float v) { return _mm256_set1_ps(v); }

TSD_AVX2 void deqQ4_1(const uint8_t* src, float* y, int64_t nb) {
  const BlockQ4_1* b = reinterpret_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < nb; i++, y += 32) {
    // y = q·d + m  ≡  q·d − (−m)
    store32<true>(y, nibbles32(b[i].qs), 0, splat(loadF16(b[i].d)), splat(-loadF16(b[i].m)));
  }
}

TSD_AVX2 void deqQ5_0(const uint8_t* src, float* y, int64_t nb) {
  const BlockQ5_0* b = reinterpret_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < nb; i++, y += 32) {
    const __m256i q = _mm256_or_si256(nibbles32(b[i].qs), highBits32(loadU32(b[i].qh)));
    const __m256 d = splat(loadF16(b[i].d));
    store32<false>(y, q, 16, d, d);
  }
}

TSD_AVX2 void deqQ5_1(const uint8_t* src, float* y, int64_t nb) {
  const BlockQ5_1* b = reinterpret_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < nb; i++, y += 32) {
    const __m256i q = _mm256_or_si256(nibbles32(b[i].qs), highBits32(loadU32(b[i].qh)));
    store32<true>(y, q, 0, splat(loadF16(b[i].d)), splat(-loadF16(b[i].m)));
  }
}

/** Q4_K (kFive = false) and Q5_K: 4 chunks of 64 = two sub-blocks of 32 with their own scale/min. */
template <bool kFive, class Block>
TSD_AVX2 void deqK(const uint8_t* src, float* y, int64_t nb) {
  const Block* blocks = reinterpret_cast<const Block*>(src);
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i one = _mm256_set1_epi8(1);
  for (int64_t i = 0; i < nb; i++) {
    const Block& b = blocks[i];
    const float d = loadF16(b.d);
    const float dmin = loadF16(b.dmin);
    __m256i qh = _mm256_setzero_si256();
    if (kFive) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const BlockQ5_K&>(b).qh));
    for (int c = 0; c < 4; c++, y += 64) {
      int sc, m;
      scaleMinK4(2 * c, b.scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      scaleMinK4(2 * c + 1, b.scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * c));
      __m256i lo = _mm256_and_si256(q, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if (kFive) {
        // bit 2c of qh[l] → element 64c + l, bit 2c+1 → element 64c + 32 + l (adds 16)
        const __m256i bl = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c)), one);
        const __m256i bh = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c + 1)), one);
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(bl, 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(bh, 4));
      }
      store32<true>(y, lo, 0, splat(d1), splat(m1));
      store32<true>(y + 32, hi, 0, splat(d2), splat(m2));
    }
  }
}

TSD_AVX2 void deqQ6_K(const uint8_t* src, float* y, int64_t nb) {
  const BlockQ6_K* blocks = reinterpret_cast<const BlockQ6_K*>(src);
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  for (int64_t i = 0; i < nb; i++) {
    const BlockQ6_K& b = blocks[i];
    const float d = loadF16(b.d);
    for (int h = 0; h < 2; h++, y += 128) {
      const __m256i qlA = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h));
      const __m256i qlB = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
      // q_k[l] for elements 32k + l of this half (models.md §2.5), each 0…63
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(qlA, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4)),
          _mm256_or_si256(_mm256_and_si256(qlB, m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qlA, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qlB, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4)),
      };
      const int8_t* sc = b.scales + 8 * h;
      for (int k = 0; k < 4; k++) {
        // elements 32k + l, l < 16 use scale 2k, l ≥ 16 scale 2k + 1
        store16(y + 32 * k, _mm256_castsi256_si128(q[k]), 32, splat(d * static_cast<float>(sc[2 * k])));
        store16(y + 32 * k + 16, _mm256_extracti128_si256(q[k], 1), 32, splat(d * static_cast<float>(sc[2 * k + 1])));
      }
    }
  }
}

}  // namespace

bool dequantizeRowAvx2(int type, const uint8_t* src, float* dst, int64_t cols) {
  switch (type) {
    case kQ4_1: deqQ4_1(src, dst, cols / 32); return true;
    case kQ5_0: deqQ5_0(src, dst, cols / 32); return true;
    case kQ5_1: deqQ5_1(src, dst, cols / 32); return true;
    case kQ4_K: deqK<false, BlockQ4_K>(src, dst, cols / 256); return true;
    case kQ5_K: deqK<true, BlockQ5_K>(src, dst, cols / 256); return true;
    case kQ6_K: deqQ6_K(src, dst, cols / 256); return true;
    default: return false;
  }
}

}  // namespace tsd
