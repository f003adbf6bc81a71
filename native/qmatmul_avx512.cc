// AVX-512 integer matmul (contract in qmatmul.h), the path for few tokens (decode) and for CPUs
// without AMX. One 512-bit register holds one quad of all 16 rows of a packed panel, so vpdpbusd
// against the token's quad (broadcast) adds that quad to the 16 rows' block sums at once: eight
// instructions per block give P_k of 16 rows, exactly, with no horizontal reduction.
//
// vpdpbusd multiplies unsigned by signed bytes: the weights are made unsigned (Q8_0: w + 128 by
// flipping the sign bit; Q4_0: the raw nibbles, w + 8) and the per-token correction c = −bias·Σq
// (QActs::c) restores the exact sum. Q4_K/Q5_K's values u are unsigned already and their min term
// is a second FMA; Q6_K keeps signed weights and puts the activations on the unsigned side instead.
// Tiles of up to 8 tokens share each block's weight registers.
#include <algorithm>

#include "cpu.h"
#include "qmatmul.h"
#include "quant.h"
#include "simd.h"

namespace tsd {

namespace {

constexpr int kMaxTileTokens = 8;
/** Software prefetch distance (bytes) when weights stream from memory. */
constexpr int64_t kPrefetchBytes = 8192;

/** The 8 quads of block k of a panel as vpdpbusd's operand (unsigned w + bias, or as stored). */
template <int kType>
TSD_AVX512VNNI inline void loadQuads(const uint8_t* quants, __m512i* w) {
  if constexpr (kType == kQ5_K || kType == kQ6_K) {
    // as stored: Q5_K's u (0…31) is already unsigned; Q6_K's int8 stays signed (see halvesQ6K)
    for (int j = 0; j < 8; j++) w[j] = _mm512_load_si512(quants + 64 * j);
  } else if constexpr (kType == kQ8_0) {
    const __m512i flip = _mm512_set1_epi8(-128);
    for (int j = 0; j < 8; j++) w[j] = _mm512_xor_si512(_mm512_load_si512(quants + 64 * j), flip);
  } else {
    const __m512i m = _mm512_set1_epi8(0x0f);
    for (int j = 0; j < 4; j++) {
      const __m512i v = _mm512_load_si512(quants + 64 * j);
      w[j] = _mm512_and_si512(v, m);
      w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m);
    }
  }
}

/**
 * Q6_K, block k: vpdpbusd takes the activations as unsigned bytes (q + 128) against the signed
 * weights, so each half sum carries 128·Σw of its row, which Z (the same product with 128 in place
 * of q, once per block for all tokens) removes exactly. Then one FMA per half with its scale.
 */
template <int TT>
TSD_AVX512VNNI inline void halvesQ6K(__m512* acc, const QActs& a, int64_t t0, int64_t k, const __m512i* w,
                                     const float* s) {
  const __m512i u128 = _mm512_set1_epi8(-128);
  __m512i Z[2];
  for (int h = 0; h < 2; h++) {
    Z[h] = _mm512_setzero_si512();
    for (int j = 4 * h; j < 4 * h + 4; j++) Z[h] = _mm512_dpbusd_epi32(Z[h], u128, w[j]);
  }
  const __m512 s0 = _mm512_load_ps(s), s1 = _mm512_load_ps(s + 16);
  for (int t = 0; t < TT; t++) {
    const int64_t tok = t0 + t;
    const int32_t* qk = reinterpret_cast<const int32_t*>(a.q + tok * a.qStride() + 32 * k);
    __m512i P[2];
    for (int h = 0; h < 2; h++) {
      P[h] = _mm512_setzero_si512();
      for (int j = 4 * h; j < 4 * h + 4; j++) {
        const __m512i qu = _mm512_xor_si512(_mm512_set1_epi32(qk[j]), u128);  // q + 128 as unsigned bytes
        P[h] = _mm512_dpbusd_epi32(P[h], qu, w[j]);
      }
      P[h] = _mm512_sub_epi32(P[h], Z[h]);
    }
    const __m512 dx = _mm512_set1_ps(a.d[tok * a.nb + k]);
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(P[0]), _mm512_mul_ps(s0, dx), acc[t]);
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(P[1]), _mm512_mul_ps(s1, dx), acc[t]);
  }
}

/** y for tokens t0 … t0+TT−1 and the 16 rows of one panel (only `rowsHere` are stored). */
template <int kType, int TT>
TSD_AVX512VNNI void panelTile(float* y, int64_t ldy, const QActs& a, int64_t t0, const uint8_t* panel,
                              int64_t quantBytes, int64_t scaleOffset, int64_t rowsHere, int64_t pf) {
  __m512 acc[TT];
  for (int t = 0; t < TT; t++) acc[t] = _mm512_setzero_ps();
  const uint8_t* scales = panel + scaleOffset;
  for (int64_t k = 0; k < a.nb; k++) {
    if (pf != 0) {
      // streaming (few tokens): the panel is read as one linear stream of (quantBytes + scales)·nb
      // bytes; fetch this step's share of it pf bytes ahead (which runs on into the next panels)
      const int64_t step = quantBytes + (kType == kQ4_0 || kType == kQ8_0 ? 32 : 128);
      prefetchLines<_MM_HINT_T0>(panel + pf + k * step, step);
    }
    __m512i w[8];
    loadQuads<kType>(panel + k * quantBytes, w);
    if constexpr (kType == kQ6_K) {
      halvesQ6K<TT>(acc, a, t0, k, w, reinterpret_cast<const float*>(scales + k * 128));
      continue;
    }
    // Q4_K / Q5_K: f32 A_k and B_k per row (the min term); Q8_0 / Q4_0: f16 dw
    constexpr bool withMin = kType == kQ4_K || kType == kQ5_K;
    constexpr int64_t scaleBytes = withMin ? 128 : 32;
    const uint8_t* sk = scales + k * scaleBytes;
    const __m512 dw = withMin ? _mm512_load_ps(reinterpret_cast<const float*>(sk))
                              : _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(sk)));
    const __m512 dmin = withMin ? _mm512_load_ps(reinterpret_cast<const float*>(sk + 64)) : dw;
    for (int t = 0; t < TT; t++) {
      const int64_t tok = t0 + t;
      const int32_t* qk = reinterpret_cast<const int32_t*>(a.q + tok * a.qStride() + 32 * k);
      const int32_t ck = a.c[tok * a.nb + k];
      __m512i P = withMin ? _mm512_setzero_si512() : _mm512_set1_epi32(ck);
      for (int j = 0; j < 8; j++) P = _mm512_dpbusd_epi32(P, w[j], _mm512_set1_epi32(qk[j]));
      const __m512 dx = _mm512_set1_ps(a.d[tok * a.nb + k]);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(P), _mm512_mul_ps(dw, dx), acc[t]);
      if constexpr (withMin) {
        acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(static_cast<float>(ck)), _mm512_mul_ps(dmin, dx), acc[t]);
      }
    }
  }
  const __mmask16 m = static_cast<__mmask16>((1u << rowsHere) - 1);
  for (int t = 0; t < TT; t++) _mm512_mask_storeu_ps(y + (t0 + t) * ldy, m, acc[t]);
}

template <int kType>
using PanelTileFn = void (*)(float*, int64_t, const QActs&, int64_t, const uint8_t*, int64_t, int64_t, int64_t, int64_t);

template <int kType>
const PanelTileFn<kType> kPanelTiles[kMaxTileTokens] = {panelTile<kType, 1>, panelTile<kType, 2>, panelTile<kType, 3>,
                                                        panelTile<kType, 4>, panelTile<kType, 5>, panelTile<kType, 6>,
                                                        panelTile<kType, 7>, panelTile<kType, 8>};

template <int kType>
TSD_AVX512VNNI void drive(float* y, int64_t ldy, const QActs& a, const QPackLayout& L, int64_t panel0, int64_t panels,
                          const uint8_t* pk) {
  for (int64_t p = panel0; p < panel0 + panels; p++) {
    const uint8_t* panel = pk + p * L.panelStride;
    const int64_t rowsHere = std::min<int64_t>(kPanelRows, L.rows - p * kPanelRows);
    const int64_t pf = a.T <= kMaxTileTokens ? kPrefetchBytes : 0;
    for (int64_t t = 0; t < a.T; t += kMaxTileTokens) {
      const int64_t tn = std::min<int64_t>(kMaxTileTokens, a.T - t);
      kPanelTiles<kType>[tn - 1](y + p * kPanelRows, ldy, a, t, panel, L.quantBytes, L.scaleOffset(), rowsHere, t == 0 ? pf : 0);
    }
  }
}

}  // namespace

void qmatmulAvx512(float* y, int64_t ldy, const QActs& a, const QPackLayout& L, int64_t panel0, int64_t panels,
                   const uint8_t* pk) {
  if (!hasAvx512Vnni()) return qmatmulAvx2(y, ldy, a, L, panel0, panels, pk);
  if (L.kind == kQ8_0) return drive<kQ8_0>(y, ldy, a, L, panel0, panels, pk);
  if (L.kind == kQ4_K) return drive<kQ4_K>(y, ldy, a, L, panel0, panels, pk);
  if (L.kind == kQ6_K) return drive<kQ6_K>(y, ldy, a, L, panel0, panels, pk);
  if (L.kind == kQ5_K) return drive<kQ5_K>(y, ldy, a, L, panel0, panels, pk);
  drive<kQ4_0>(y, ldy, a, L, panel0, panels, pk);
}

TSD_AVX512 inline __m512 abs512(__m512 v, __m512i mask) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), mask));
}

/** As the scalar quantizeActs: amax, d = amax/127, q = round-half-even(x · (1/d)), c = −bias·Σq. */
TSD_AVX512 void quantizeActsAvx512(const QActs& a, const float* x, int64_t t0, int64_t t1) {
  const __m512i signMask = _mm512_set1_epi32(0x7fffffff);
  const int bias = quantBias(a.type);
  for (int64_t t = t0; t < t1; t++) {
    const float* xr = x + t * a.cols;
    int8_t* q = a.q + t * a.qStride();
    float* d = a.d + t * a.nb;
    int32_t* c = a.c + t * a.nb;
    for (int64_t k = 0; k < a.nb; k++) {
      const __m512 v0 = _mm512_loadu_ps(xr + 32 * k);
      const __m512 v1 = _mm512_loadu_ps(xr + 32 * k + 16);
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs512(v0, signMask), abs512(v1, signMask)));
      const float dk = amax / 127.0f;
      const float id = dk != 0.0f ? 1.0f / dk : 0.0f;
      d[k] = dk;
      const __m512 iv = _mm512_set1_ps(id);
      const __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, iv));
      const __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, iv));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * k), _mm512_cvtepi32_epi8(i0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * k + 16), _mm512_cvtepi32_epi8(i1));
      c[k] = -bias * _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
    }
  }
}

}  // namespace tsd
