// AVX2 integer matmul (contract in qmatmul.h), also the AVX-512 fallback on CPUs without VNNI.
// The 16 lanes of the contract live in two 8-lane accumulators: A[0…7] and A[8…15].
//
// Q8_0: one block per register (even blocks → A[0…7], odd → A[8…15]); the signed × signed bytes go
// through maddubs as |w| × (x with w's sign), whose pair sums stay within int16 (|x| ≤ 127).
// Q4_0: a block pair per two registers in the stored order; unsigned nibbles × signed activations
// (pair sums ≤ 2·15·127) plus the correction c = −8·Σq.
#include <algorithm>

#include "cpu.h"
#include "matmul.h"
#include "qmatmul.h"
#include "quant.h"
#include "simd.h"

namespace tsd {

namespace {

TSD_AVX2 inline __m256i dot4(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

TSD_AVX2 inline __m256 splatF16(const uint8_t* p) { return _mm256_set1_ps(loadF16(p)); }

/** One token × R rows of Q8_0, or TT tokens; accumulators [t][r][parity]. */
template <int TT, int R>
TSD_AVX2 void tileQ8(float* y, int64_t ldy, const QActs& a, int64_t t0, const BlockQ8_0* const* w, int64_t pf) {
  __m256 acc[TT][R][2];
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) acc[t][r][0] = acc[t][r][1] = _mm256_setzero_ps();
  const int8_t* q = a.q + t0 * a.qStride();
  const float* d = a.d + t0 * a.nbp;
  for (int64_t k = 0; k < a.nb; k++) {
    const int odd = static_cast<int>(k & 1);
    __m256i wv[R], aw[R];
    __m256 dw[R];
    for (int r = 0; r < R; r++) {
      if (pf != 0) _mm_prefetch(reinterpret_cast<const char*>(w[r] + k) + pf, _MM_HINT_T0);
      wv[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r][k].qs));
      aw[r] = _mm256_abs_epi8(wv[r]);
      dw[r] = splatF16(w[r][k].d);
    }
    for (int t = 0; t < TT; t++) {
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + t * a.qStride() + 32 * k));
      const __m256 dx = _mm256_set1_ps(d[t * a.nbp + k]);
      for (int r = 0; r < R; r++) {
        const __m256i P = dot4(aw[r], _mm256_sign_epi8(xv, wv[r]));
        acc[t][r][odd] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(P), _mm256_mul_ps(dw[r], dx), acc[t][r][odd]);
      }
    }
  }
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) y[t * ldy + r] = hsum256(_mm256_add_ps(acc[t][r][0], acc[t][r][1]));
}

/** [a × 4, b × 4] */
TSD_AVX2 inline __m256 pair4(float lo, float hi) {
  return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(lo)), _mm_set1_ps(hi), 1);
}

template <int TT, int R>
TSD_AVX2 void tileQ4(float* y, int64_t ldy, const QActs& a, int64_t t0, const BlockQ4_0* const* w, int64_t pf) {
  __m256 acc[TT][R][2];
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) acc[t][r][0] = acc[t][r][1] = _mm256_setzero_ps();
  const int8_t* q = a.q + t0 * a.qStride();
  const int32_t* c = a.c + t0 * a.cStride();
  const float* d = a.d + t0 * a.nbp;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  for (int64_t p = 0; p < a.nbp / 2; p++) {
    const bool half = 2 * p + 1 >= a.nb;
    __m256i lo[R], hi[R];
    __m256 dw[R];
    for (int r = 0; r < R; r++) {
      const BlockQ4_0* b = w[r] + 2 * p;
      if (pf != 0) _mm_prefetch(reinterpret_cast<const char*>(b) + pf, _MM_HINT_T0);
      const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[0].qs));
      const __m128i q1 = half ? _mm_setzero_si128() : _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[1].qs));
      const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
      lo[r] = _mm256_and_si256(v, m4);
      hi[r] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
      dw[r] = pair4(loadF16(b[0].d), half ? 0.0f : loadF16(b[1].d));
    }
    for (int t = 0; t < TT; t++) {
      const int8_t* qp = q + t * a.qStride() + 64 * p;
      const int32_t* cp = c + t * a.cStride() + 16 * p;
      const __m256i xl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qp));
      const __m256i xh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qp + 32));
      const __m256i cl = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cp));
      const __m256i ch = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cp + 8));
      const __m256 dx = pair4(d[t * a.nbp + 2 * p], d[t * a.nbp + 2 * p + 1]);
      for (int r = 0; r < R; r++) {
        const __m256 s = _mm256_mul_ps(dw[r], dx);
        const __m256i Pl = _mm256_add_epi32(dot4(lo[r], xl), cl);
        const __m256i Ph = _mm256_add_epi32(dot4(hi[r], xh), ch);
        acc[t][r][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(Pl), s, acc[t][r][0]);
        acc[t][r][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(Ph), s, acc[t][r][1]);
      }
    }
  }
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) y[t * ldy + r] = hsum256(_mm256_add_ps(acc[t][r][0], acc[t][r][1]));
}

template <class B>
using Q2TileFn = void (*)(float*, int64_t, const QActs&, int64_t, const B* const*, int64_t);

template <int TT, int R>
struct Q8Tile {
  static constexpr Q2TileFn<BlockQ8_0> fn = tileQ8<TT, R>;
};
template <int TT, int R>
struct Q4Tile {
  static constexpr Q2TileFn<BlockQ4_0> fn = tileQ4<TT, R>;
};

/** Token blocks → panels of 2 rows → tiles of ≤ 2 tokens. */
template <class B, template <int, int> class Tile>
TSD_AVX2 void qdrive(float* y, int64_t ldy, const QActs& a, int64_t rows, const uint8_t* w) {
  static const Q2TileFn<B> tiles[2][2] = {{Tile<1, 1>::fn, Tile<1, 2>::fn}, {Tile<2, 1>::fn, Tile<2, 2>::fn}};
  const size_t rb = rowBytes(a.type, a.cols);
  const int64_t perToken = a.qStride() + 4 * a.cStride() + 4 * a.nbp;
  const int64_t tb = std::max<int64_t>(8, std::min<int64_t>(256, (256 * 1024) / perToken));
  const B* wr[2];
  for (int64_t t0 = 0; t0 < a.T; t0 += tb) {
    const int64_t t1 = std::min(a.T, t0 + tb);
    for (int64_t r0 = 0; r0 < rows; r0 += 2) {
      const int64_t rn = std::min<int64_t>(2, rows - r0);
      const int64_t pf = t0 > 0 ? 0 : std::max<int64_t>(2 * static_cast<int64_t>(rb), kPrefetchMin);
      for (int64_t r = 0; r < rn; r++) wr[r] = reinterpret_cast<const B*>(w + static_cast<size_t>(r0 + r) * rb);
      for (int64_t t = t0; t < t1; t += 2) {
        const int64_t tn = std::min<int64_t>(2, t1 - t);
        tiles[tn - 1][rn - 1](y + t * ldy + r0, ldy, a, t, wr, t == t0 ? pf : 0);
      }
    }
  }
}

}  // namespace

void qmatmulAvx2(float* y, int64_t ldy, const QActs& a, int64_t rows, const uint8_t* w) {
  if (a.type == kQ8_0) return qdrive<BlockQ8_0, Q8Tile>(y, ldy, a, rows, w);
  return qdrive<BlockQ4_0, Q4Tile>(y, ldy, a, rows, w);
}

/** As the scalar quantizeActs, eight floats at a time. */
TSD_AVX2 void quantizeActsAvx2(const QActs& a, const float* x, int64_t t0, int64_t t1) {
  const __m256 signMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i nbias = _mm256_set1_epi32(a.type == kQ4_0 ? -8 : -128);
  for (int64_t t = t0; t < t1; t++) {
    const float* xr = x + t * a.cols;
    int8_t* q = a.q + t * a.qStride();
    float* d = a.d + t * a.nbp;
    int32_t* c = a.c + t * a.cStride();
    for (int64_t k = 0; k < a.nbp; k++) {
      int8_t* qp = q + 64 * (k / 2);
      const int odd = static_cast<int>(k & 1);
      // destinations of elements 0…15 and 16…31 in the stored pair layout
      int8_t* lo = a.type == kQ4_0 ? qp + 16 * odd : qp + 32 * odd;
      int8_t* hi = a.type == kQ4_0 ? qp + 32 + 16 * odd : qp + 32 * odd + 16;
      if (k >= a.nb) {
        d[k] = 0.0f;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(lo), _mm_setzero_si128());
        _mm_storeu_si128(reinterpret_cast<__m128i*>(hi), _mm_setzero_si128());
        continue;
      }
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
      _mm_storeu_si128(reinterpret_cast<__m128i*>(lo), _mm256_castsi256_si128(packed));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(hi), _mm256_extracti128_si256(packed, 1));
    }
    for (int64_t p = 0; p < a.nbp / 2; p++) {
      for (int h = 0; h < 2; h++) {
        const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 64 * p + 32 * h));
        const __m256i sums = dot4(ones8, qv);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + 16 * p + 8 * h), _mm256_mullo_epi32(sums, nbias));
      }
    }
  }
}

}  // namespace tsd
