// AVX2 integer matmul (contract in qmatmul.h), also the AVX-512 fallback on CPUs without VNNI.
// A register holds one quad of 8 rows (half a packed panel) and the block sums P_k of those rows
// build up over the block's 8 quads; then one convert, the scale product and an FMA per row.
//
// Q8_0 (and Q6_K, per half block): signed × signed bytes go through maddubs as |w| × (q with w's
// sign), whose pair sums stay within int16 (|q| ≤ 127, |w| ≤ 128). Q4_0: unsigned nibbles (w + 8) ×
// signed activations (pair sums ≤ 2·15·127) plus the correction c = −8·Σq. Q4_K / Q5_K: the values
// u as they are (pair sums ≤ 2·31·127); their min term is a second FMA with c = −Σq.
#include <algorithm>

#include "cpu.h"
#include "qmatmul.h"
#include "quant.h"
#include "simd.h"

namespace tsd {

namespace {

TSD_AVX2 inline __m256i dot4(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

TSD_AVX2 inline __m256i quadOf(const int8_t* q, int j) {
  int32_t v;
  __builtin_memcpy(&v, q + 4 * j, 4);
  return _mm256_set1_epi32(v);
}

/** Q6_K: the two half-block sums (quads 0–3, 4–7) of 8 rows, signed × signed as for Q8_0. */
TSD_AVX2 inline void halfSums(const uint8_t* quants, int h, const int8_t* qk, __m256i* P) {
  for (int half = 0; half < 2; half++) {
    P[half] = _mm256_setzero_si256();
    for (int j = 4 * half; j < 4 * half + 4; j++) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + 64 * j + 32 * h));
      P[half] = _mm256_add_epi32(P[half], dot4(_mm256_abs_epi8(w), _mm256_sign_epi8(quadOf(qk, j), w)));
    }
  }
}

/** Block sums of 8 rows (the half `h` of a panel) for one token, block k. */
TSD_AVX2 inline __m256i blockSums(int type, const uint8_t* quants, int h, const int8_t* qk, int32_t ck) {
  __m256i P = _mm256_setzero_si256();
  if (type == kQ5_K) {  // u ≤ 31 unsigned × q: pair sums ≤ 2·31·127 fit int16
    for (int j = 0; j < 8; j++) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + 64 * j + 32 * h));
      P = _mm256_add_epi32(P, dot4(w, quadOf(qk, j)));
    }
    return P;
  }
  if (type == kQ8_0) {
    for (int j = 0; j < 8; j++) {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + 64 * j + 32 * h));
      P = _mm256_add_epi32(P, dot4(_mm256_abs_epi8(w), _mm256_sign_epi8(quadOf(qk, j), w)));
    }
    return P;
  }
  const __m256i m = _mm256_set1_epi8(0x0f);
  for (int j = 0; j < 4; j++) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(quants + 64 * j + 32 * h));
    P = _mm256_add_epi32(P, dot4(_mm256_and_si256(v, m), quadOf(qk, j)));
    P = _mm256_add_epi32(P, dot4(_mm256_and_si256(_mm256_srli_epi16(v, 4), m), quadOf(qk, j + 4)));
  }
  return type == kQ4_K ? P : _mm256_add_epi32(P, _mm256_set1_epi32(ck));  // Q4_K: u·q, no offset
}

}  // namespace

TSD_AVX2 void qmatmulAvx2(float* y, int64_t ldy, const QActs& a, const QPackLayout& L, int64_t panel0,
                          int64_t panels, const uint8_t* pk) {
  constexpr int TT = 4;
  for (int64_t p = panel0; p < panel0 + panels; p++) {
    const uint8_t* panel = pk + p * L.panelStride;
    const uint8_t* scales = panel + L.scaleOffset();
    const int64_t rowsHere = std::min<int64_t>(kPanelRows, L.rows - p * kPanelRows);
    for (int h = 0; h < 2 && 8 * h < rowsHere; h++) {
      for (int64_t t0 = 0; t0 < a.T; t0 += TT) {
        const int tn = static_cast<int>(std::min<int64_t>(TT, a.T - t0));
        __m256 acc[TT];
        for (int t = 0; t < TT; t++) acc[t] = _mm256_setzero_ps();
        for (int64_t k = 0; k < a.nb; k++) {
          const uint8_t* quants = panel + k * L.quantBytes;
          const uint8_t* sk = scales + k * L.scaleBytes;
          const bool withMin = L.kind == kQ4_K || L.kind == kQ5_K, halves = L.kind == kQ6_K;
          // f32 scale pairs (withMin: A and B; halves: the two half-block scales), else f16 dw
          const bool f32Scales = withMin || halves;
          const __m256 dw = f32Scales ? _mm256_loadu_ps(reinterpret_cast<const float*>(sk) + 8 * h)
                                      : _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sk + 16 * h)));
          const __m256 dw2 = f32Scales ? _mm256_loadu_ps(reinterpret_cast<const float*>(sk) + kPanelRows + 8 * h) : dw;
          for (int t = 0; t < tn; t++) {
            const int64_t tok = t0 + t;
            const int32_t ck = a.c[tok * a.nb + k];
            const __m256 dx = _mm256_set1_ps(a.d[tok * a.nb + k]);
            if (halves) {
              __m256i P[2];
              halfSums(quants, h, a.q + tok * a.qStride() + 32 * k, P);
              acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(P[0]), _mm256_mul_ps(dw, dx), acc[t]);
              acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(P[1]), _mm256_mul_ps(dw2, dx), acc[t]);
              continue;
            }
            const __m256i P = blockSums(L.kind, quants, h, a.q + tok * a.qStride() + 32 * k, ck);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(P), _mm256_mul_ps(dw, dx), acc[t]);
            if (withMin) acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(static_cast<float>(ck)), _mm256_mul_ps(dw2, dx), acc[t]);
          }
        }
        const int64_t n = std::min<int64_t>(8, rowsHere - 8 * h);
        for (int t = 0; t < tn; t++) {
          float out[8];
          _mm256_storeu_ps(out, acc[t]);
          std::copy(out, out + n, y + (t0 + t) * ldy + p * kPanelRows + 8 * h);
        }
      }
    }
  }
}

/** As the scalar quantizeActs: amax, d = amax/127, q = round-half-even(x · (1/d)), c = −bias·Σq. */
TSD_AVX2 void quantizeActsAvx2(const QActs& a, const float* x, int64_t t0, int64_t t1) {
  const int bias = quantBias(a.type);
  const __m256 signMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t t = t0; t < t1; t++) {
    const float* xr = x + t * a.cols;
    int8_t* q = a.q + t * a.qStride();
    float* d = a.d + t * a.nb;
    int32_t* c = a.c + t * a.nb;
    for (int64_t k = 0; k < a.nb; k++) {
      __m256 v[4];
      __m256 m = _mm256_setzero_ps();
      for (int j = 0; j < 4; j++) {
        v[j] = _mm256_loadu_ps(xr + 32 * k + 8 * j);
        m = _mm256_max_ps(m, _mm256_and_ps(v[j], signMask));
      }
      __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
      m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
      m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
      const float amax = _mm_cvtss_f32(m4);
      const float dk = amax / 127.0f;
      const float id = dk != 0.0f ? 1.0f / dk : 0.0f;
      d[k] = dk;
      const __m256 iv = _mm256_set1_ps(id);
      __m256i i[4];
      for (int j = 0; j < 4; j++) i[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], iv));
      const __m256i packed = _mm256_permutevar8x32_epi32(
          _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3])), perm);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 32 * k), packed);
      // Σq: |q| sums via maddubs with sign, then the lanes
      const __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), packed), _mm256_set1_epi16(1));
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
      c[k] = -bias * _mm_cvtsi128_si32(s4);
    }
  }
}

}  // namespace tsd
