// Paged KV cache store and causal GQA attention over it.
//
// For each token and KV head, the query heads of the group walk the token's blocks in order with
// an online softmax (f32, running max subtracted): per block, the scores of its positions, the
// block max, p = exp(s − m), and o ← o·α + Σ p·v. All reductions have a fixed order that depends
// only on the token's position, the block size and headDim, so a token's output never depends on
// the other tokens of the batch. Each token (or, for few tokens, each (token, KV head)) is one task of
// the thread pool. The SIMD variants use a polynomial exp.
//
// Caches hold f32 or IEEE f16 values (E = float or uint16_t). f16 values are widened exactly when
// loaded, so attention over an f16 cache equals attention over an f32 cache holding the same values.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu.h"
#include "kernels.h"
#include "quant.h"
#include "simd.h"
#include "threadpool.h"

namespace tsd {

namespace {

/** Round-to-nearest-even f32 → f16 of n values (F16C where available: the same results). */
void toF16(uint16_t* dst, const float* src, int64_t n);

TSD_AVX2 void toF16Avx2(uint16_t* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; i++) dst[i] = f32ToF16(src[i]);
}

void toF16(uint16_t* dst, const float* src, int64_t n) {
  if (currentIsa() != Isa::Scalar) return toF16Avx2(dst, src, n);
  for (int64_t i = 0; i < n; i++) dst[i] = f32ToF16(src[i]);
}

}  // namespace

void kvStore(float* kCache, float* vCache, const float* k, const float* v, int64_t T, int64_t kvWidth,
             const int32_t* slots) {
  const size_t bytes = static_cast<size_t>(kvWidth) * sizeof(float);
  for (int64_t t = 0; t < T; t++) {
    if (slots[t] < 0) continue;  // padding token
    const int64_t off = static_cast<int64_t>(slots[t]) * kvWidth;
    std::memcpy(kCache + off, k + t * kvWidth, bytes);
    std::memcpy(vCache + off, v + t * kvWidth, bytes);
  }
}

void kvStore(uint16_t* kCache, uint16_t* vCache, const float* k, const float* v, int64_t T, int64_t kvWidth,
             const int32_t* slots) {
  for (int64_t t = 0; t < T; t++) {
    if (slots[t] < 0) continue;  // padding token
    const int64_t off = static_cast<int64_t>(slots[t]) * kvWidth;
    toF16(kCache + off, k + t * kvWidth, kvWidth);
    toF16(vCache + off, v + t * kvWidth, kvWidth);
  }
}

namespace {

/** The positions of one KV block that a token attends to: k, v of its first position, n positions. */
template <class E>
struct Span {
  const E* k;
  const E* v;
  int64_t n;
};

// ---- cache element loads: f32 as is, f16 widened exactly ------------------------------------

inline float ld1(const float* p) { return *p; }
inline float ld1(const uint16_t* p) { return f16ToF32(*p); }

TSD_AVX2 inline __m256 ld8(const float* p) { return _mm256_loadu_ps(p); }
TSD_AVX2 inline __m256 ld8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
/** The first rem (0…8) values, zeros after them. */
TSD_AVX2 inline __m256 ld8m(const float* p, int64_t rem) { return _mm256_maskload_ps(p, tailMask8(rem)); }
TSD_AVX2 inline __m256 ld8m(const uint16_t* p, int64_t rem) {
  alignas(16) uint16_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < rem; i++) tmp[i] = p[i];
  return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(tmp)));
}

TSD_AVX512 inline __m512 ld16(const float* p) { return _mm512_loadu_ps(p); }
TSD_AVX512 inline __m512 ld16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
TSD_AVX512 inline __m512 ld16m(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
TSD_AVX512 inline __m512 ld16m(const uint16_t* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }

/**
 * Positions per online-softmax step. Spans are pieces of at most this many positions of one block;
 * a tile collects spans until it holds at least this many positions. Small tiles keep a KV head's
 * rows in L1 while all query heads of its group use them (the cache interleaves KV heads, so one
 * head's rows map to only a fraction of the L1 sets; 16 measured fastest for headDim 64 and 128).
 */
constexpr int64_t kTilePositions = 16;

/**
 * Online-softmax update of the g query heads q [g × hd] of a group with one tile of KV positions
 * (consecutive spans; positions `stride` floats apart within a span). State per head: running max
 * m[j], running sum l[j], unnormalised output o[j × hd]. s is scratch for the tile's scores.
 */
template <class E>
using TileFn = void (*)(const float* q, int64_t g, int64_t hd, const Span<E>* spans, int64_t nSpans, int64_t stride,
                        float scale, float* m, float* l, float* o, float* s);

// ---- scalar ---------------------------------------------------------------------------------

/** dotScalar with a cache row (same order: 8 accumulators, hsum8). */
template <class E>
inline float dotRow(const float* a, const E* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) acc[l] += a[i + l] * ld1(b + i + l);
  }
  for (int l = 0; i + l < n; l++) acc[l] += a[i + l] * ld1(b + i + l);
  return hsum8(acc);
}

template <class E>
void tileScalar(const float* q, int64_t g, int64_t hd, const Span<E>* spans, int64_t nSpans, int64_t stride,
                float scale, float* m, float* l, float* o, float* s) {
  for (int64_t j = 0; j < g; j++) {
    const float* qj = q + j * hd;
    float* oj = o + j * hd;
    float mx = -std::numeric_limits<float>::infinity();
    int64_t n = 0;
    for (int64_t b = 0; b < nSpans; b++) {
      for (int64_t i = 0; i < spans[b].n; i++, n++) {
        s[n] = dotRow(qj, spans[b].k + i * stride, hd) * scale;
        mx = s[n] > mx ? s[n] : mx;
      }
    }
    const float mNew = mx > m[j] ? mx : m[j];
    const float alpha = std::exp(m[j] - mNew);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
      s[i] = std::exp(s[i] - mNew);
      sum += s[i];
    }
    l[j] = l[j] * alpha + sum;
    m[j] = mNew;
    for (int64_t d = 0; d < hd; d++) oj[d] *= alpha;
    const float* p = s;
    for (int64_t b = 0; b < nSpans; b++) {
      for (int64_t i = 0; i < spans[b].n; i++) {
        const float a = *p++;
        const E* v = spans[b].v + i * stride;
        for (int64_t d = 0; d < hd; d++) oj[d] += a * ld1(v + d);
      }
    }
  }
}

// ---- AVX2 -----------------------------------------------------------------------------------

/** r[i] = sum of the lanes of v[i], i < 8 (a fixed transposing add tree). */
TSD_AVX2 inline __m256 reduce8(const __m256* v) {
  __m256 w[4], x[2];
  for (int i = 0; i < 4; i++) {
    w[i] = _mm256_add_ps(_mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  }
  for (int i = 0; i < 2; i++) {
    const __m256d a = _mm256_castps_pd(w[2 * i]), b = _mm256_castps_pd(w[2 * i + 1]);
    x[i] = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(a, b)), _mm256_castpd_ps(_mm256_unpackhi_pd(a, b)));
  }
  return _mm256_add_ps(_mm256_permute2f128_ps(x[0], x[1], 0x20), _mm256_permute2f128_ps(x[0], x[1], 0x31));
}

/** Scores (unscaled) of up to 8 positions; positions ≥ cnt repeat the last one and are ignored. */
template <class E>
TSD_AVX2 inline __m256 scores8(const float* qj, int64_t hd, const E* k, int64_t stride, int64_t cnt) {
  const E* kp[8];
  __m256 acc[8];
  for (int p = 0; p < 8; p++) {
    kp[p] = k + (p < cnt ? p : cnt - 1) * stride;
    acc[p] = _mm256_setzero_ps();
  }
  int64_t c = 0;
  for (; c + 8 <= hd; c += 8) {
    const __m256 qv = _mm256_loadu_ps(qj + c);
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++) acc[p] = _mm256_fmadd_ps(qv, ld8(kp[p] + c), acc[p]);
  }
  if (c < hd) {
    const __m256i tm = tailMask8(hd - c);
    const __m256 qv = _mm256_maskload_ps(qj + c, tm);
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++) acc[p] = _mm256_fmadd_ps(qv, ld8m(kp[p] + c, hd - c), acc[p]);
  }
  return reduce8(acc);
}

/**
 * o ← o·α + Σ_i p_i·v_i over the tile's positions, in groups of up to 4 chunks of 8 floats with
 * separate accumulators for even and odd positions of each span (8 independent FMA chains).
 */
template <class E>
TSD_AVX2 inline void accumulate8(float* o, int64_t hd, const Span<E>* spans, int64_t nSpans, int64_t stride,
                                 const float* p, float alpha) {
  const __m256 av = _mm256_set1_ps(alpha);
  for (int64_t c0 = 0; c0 < hd; c0 += 32) {
    __m256i mk[4];
    int64_t rm[4];
    __m256 a0[4], a1[4];
    for (int u = 0; u < 4; u++) {
      const int64_t rem = hd - c0 - 8 * u;
      rm[u] = rem >= 8 ? 8 : rem > 0 ? rem : 0;
      mk[u] = tailMask8(rm[u]);
      a0[u] = _mm256_mul_ps(_mm256_maskload_ps(o + c0 + 8 * u, mk[u]), av);
      a1[u] = _mm256_setzero_ps();
    }
    const float* pb = p;
    for (int64_t b = 0; b < nSpans; b++) {
      const E* v = spans[b].v + c0;
      const int64_t n = spans[b].n;
      int64_t i = 0;
      for (; i + 2 <= n; i += 2) {
        const __m256 p0 = _mm256_set1_ps(pb[i]), p1 = _mm256_set1_ps(pb[i + 1]);
        const E* v0 = v + i * stride;
        const E* v1 = v0 + stride;
        for (int u = 0; u < 4; u++) {
          a0[u] = _mm256_fmadd_ps(p0, rm[u] == 8 ? ld8(v0 + 8 * u) : ld8m(v0 + 8 * u, rm[u]), a0[u]);
          a1[u] = _mm256_fmadd_ps(p1, rm[u] == 8 ? ld8(v1 + 8 * u) : ld8m(v1 + 8 * u, rm[u]), a1[u]);
        }
      }
      if (i < n) {
        const __m256 p0 = _mm256_set1_ps(pb[i]);
        const E* v0 = v + i * stride;
        for (int u = 0; u < 4; u++) {
          a0[u] = _mm256_fmadd_ps(p0, rm[u] == 8 ? ld8(v0 + 8 * u) : ld8m(v0 + 8 * u, rm[u]), a0[u]);
        }
      }
      pb += n;
    }
    for (int u = 0; u < 4; u++) _mm256_maskstore_ps(o + c0 + 8 * u, mk[u], _mm256_add_ps(a0[u], a1[u]));
  }
}

TSD_AVX2 inline float hmax256(__m256 v) {
  __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  a = _mm_max_ps(a, _mm_movehl_ps(a, a));
  a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
  return _mm_cvtss_f32(a);
}

template <class E>
TSD_AVX2 void tileAvx2(const float* q, int64_t g, int64_t hd, const Span<E>* spans, int64_t nSpans, int64_t stride,
                       float scale, float* m, float* l, float* o, float* s) {
  const __m256 sc = _mm256_set1_ps(scale);
  const __m256 ninf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < g; j++) {
    const float* qj = q + j * hd;
    __m256 mx = ninf;
    int64_t n = 0;
    for (int64_t b = 0; b < nSpans; b++) {
      for (int64_t i0 = 0; i0 < spans[b].n; i0 += 8) {
        const int64_t cnt = spans[b].n - i0 < 8 ? spans[b].n - i0 : 8;
        const __m256 sv = _mm256_mul_ps(scores8(qj, hd, spans[b].k + i0 * stride, stride, cnt), sc);
        const __m256i mk = tailMask8(cnt);
        _mm256_maskstore_ps(s + n, mk, sv);
        mx = _mm256_max_ps(mx, _mm256_blendv_ps(ninf, sv, _mm256_castsi256_ps(mk)));
        n += cnt;
      }
    }
    const float bm = hmax256(mx);
    const float mNew = bm > m[j] ? bm : m[j];
    const float alpha = _mm256_cvtss_f32(exp256(_mm256_set1_ps(m[j] - mNew)));
    const __m256 mv = _mm256_set1_ps(mNew);
    __m256 sum = _mm256_setzero_ps();
    for (int64_t i0 = 0; i0 < n; i0 += 8) {
      const __m256i mk = tailMask8(n - i0 < 8 ? n - i0 : 8);
      const __m256 p = _mm256_and_ps(exp256(_mm256_sub_ps(_mm256_maskload_ps(s + i0, mk), mv)), _mm256_castsi256_ps(mk));
      _mm256_maskstore_ps(s + i0, mk, p);
      sum = _mm256_add_ps(sum, p);
    }
    l[j] = l[j] * alpha + hsum256(sum);
    m[j] = mNew;
    accumulate8(o + j * hd, hd, spans, nSpans, stride, s, alpha);
  }
}

// ---- AVX-512 --------------------------------------------------------------------------------

/** r[i] = sum of the lanes of v[i], i < 16 (a fixed transposing add tree). */
TSD_AVX512 inline __m512 reduce16(const __m512* v) {
  __m512 w[8], x[4], y[2];
  for (int i = 0; i < 8; i++) {
    w[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  }
  for (int i = 0; i < 4; i++) {
    const __m512d a = _mm512_castps_pd(w[2 * i]), b = _mm512_castps_pd(w[2 * i + 1]);
    x[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  // per 128-bit lane, x[i] holds 4 positions' partial sums; fold the four lanes
  for (int i = 0; i < 2; i++) {
    y[i] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  }
  return _mm512_add_ps(_mm512_shuffle_f32x4(y[0], y[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(y[0], y[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

// The AVX-512 tile works on all query heads of the group at once, so each K/V row is loaded a few
// times per tile instead of once per query head: scores in blocks of 4 heads × 4 positions (16 dot
// products, one transposing reduction), then the online-softmax step per head, then o += p·v for up
// to 8 heads × 32 columns per pass over the tile's V rows.

/** Largest tile: spans are added until a tile holds ≥ kTilePositions, each span ≤ kTilePositions. */
constexpr int64_t kMaxTile = 2 * kTilePositions;

/** scale · q_h · k_p for 4 heads × 4 positions, lane 4h + p. */
template <class E>
TSD_AVX512 inline __m512 scores4x4(const float* const* qh, const E* const* kp, int64_t hd, __m512 scale) {
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= hd; c += 16) {
    __m512 kv[4];
    for (int p = 0; p < 4; p++) kv[p] = ld16(kp[p] + c);
    for (int h = 0; h < 4; h++) {
      const __m512 qv = _mm512_loadu_ps(qh[h] + c);
      for (int p = 0; p < 4; p++) acc[4 * h + p] = _mm512_fmadd_ps(qv, kv[p], acc[4 * h + p]);
    }
  }
  if (c < hd) {
    const __mmask16 tm = tailMask16(hd - c);
    __m512 kv[4];
    for (int p = 0; p < 4; p++) kv[p] = ld16m(kp[p] + c, tm);
    for (int h = 0; h < 4; h++) {
      const __m512 qv = _mm512_maskz_loadu_ps(tm, qh[h] + c);
      for (int p = 0; p < 4; p++) acc[4 * h + p] = _mm512_fmadd_ps(qv, kv[p], acc[4 * h + p]);
    }
  }
  return _mm512_mul_ps(reduce16(acc), scale);
}

/** o_h ← o_h·α_h + Σ_i p_hi·v_i for HN heads (rows of o and s), columns in groups of 32. */
template <int HN, class E>
TSD_AVX512 void accumulateHeads(float* o, int64_t hd, const E* const* vp, int64_t n, const float* s,
                                const float* alpha) {
  for (int64_t c0 = 0; c0 < hd; c0 += 32) {
    const int64_t r0 = hd - c0, r1 = hd - c0 - 16;
    const __mmask16 m0 = r0 >= 16 ? static_cast<__mmask16>(0xffff) : tailMask16(r0);
    const __mmask16 m1 = r1 >= 16 ? static_cast<__mmask16>(0xffff) : r1 > 0 ? tailMask16(r1) : static_cast<__mmask16>(0);
    __m512 acc[HN][2];
    for (int h = 0; h < HN; h++) {
      const __m512 a = _mm512_set1_ps(alpha[h]);
      acc[h][0] = _mm512_mul_ps(_mm512_maskz_loadu_ps(m0, o + h * hd + c0), a);
      acc[h][1] = _mm512_mul_ps(_mm512_maskz_loadu_ps(m1, o + h * hd + c0 + 16), a);
    }
    for (int64_t i = 0; i < n; i++) {
      const __m512 v0 = ld16m(vp[i] + c0, m0);
      const __m512 v1 = ld16m(vp[i] + c0 + 16, m1);
      for (int h = 0; h < HN; h++) {
        const __m512 p = _mm512_set1_ps(s[h * kMaxTile + i]);
        acc[h][0] = _mm512_fmadd_ps(p, v0, acc[h][0]);
        acc[h][1] = _mm512_fmadd_ps(p, v1, acc[h][1]);
      }
    }
    for (int h = 0; h < HN; h++) {
      _mm512_mask_storeu_ps(o + h * hd + c0, m0, acc[h][0]);
      _mm512_mask_storeu_ps(o + h * hd + c0 + 16, m1, acc[h][1]);
    }
  }
}

template <class E>
TSD_AVX512 void tileAvx512(const float* q, int64_t g, int64_t hd, const Span<E>* spans, int64_t nSpans, int64_t stride,
                           float scale, float* m, float* l, float* o, float* s) {
  const E* kp[kMaxTile];
  const E* vp[kMaxTile];
  int64_t n = 0;
  for (int64_t b = 0; b < nSpans; b++) {
    for (int64_t i = 0; i < spans[b].n; i++, n++) {
      kp[n] = spans[b].k + i * stride;
      vp[n] = spans[b].v + i * stride;
    }
  }
  // 1. scores s[j × kMaxTile + i] (blocks past g or n repeat the last head / position and are dropped)
  const __m512 sc = _mm512_set1_ps(scale);
  alignas(64) float block[16];
  for (int64_t j0 = 0; j0 < g; j0 += 4) {
    const float* qh[4];
    for (int h = 0; h < 4; h++) qh[h] = q + std::min<int64_t>(j0 + h, g - 1) * hd;
    for (int64_t i0 = 0; i0 < n; i0 += 4) {
      const E* kk[4];
      for (int p = 0; p < 4; p++) kk[p] = kp[std::min<int64_t>(i0 + p, n - 1)];
      _mm512_store_ps(block, scores4x4(qh, kk, hd, sc));
      for (int64_t h = 0; h < 4 && j0 + h < g; h++)
        for (int64_t p = 0; p < 4 && i0 + p < n; p++) s[(j0 + h) * kMaxTile + i0 + p] = block[4 * h + p];
    }
  }
  // 2. online-softmax step per head: s ← e^{s − m_new}
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  float* alpha = s + g * kMaxTile;  // [g] this tile's rescaling factors
  for (int64_t j = 0; j < g; j++) {
    float* sj = s + j * kMaxTile;
    const __mmask16 k0 = n >= 16 ? static_cast<__mmask16>(0xffff) : tailMask16(n);
    const __mmask16 k1 = n > 16 ? tailMask16(n - 16) : static_cast<__mmask16>(0);
    const __m512 s0 = _mm512_mask_loadu_ps(ninf, k0, sj);
    const __m512 s1 = _mm512_mask_loadu_ps(ninf, k1, sj + 16);
    const float bm = _mm512_reduce_max_ps(_mm512_max_ps(s0, s1));
    const float mNew = bm > m[j] ? bm : m[j];
    const float a = _mm512_cvtss_f32(exp512(_mm512_set1_ps(m[j] - mNew)));
    const __m512 mv = _mm512_set1_ps(mNew);
    const __m512 p0 = _mm512_maskz_mov_ps(k0, exp512(_mm512_sub_ps(s0, mv)));
    const __m512 p1 = _mm512_maskz_mov_ps(k1, exp512(_mm512_sub_ps(s1, mv)));
    _mm512_store_ps(sj, p0);
    _mm512_store_ps(sj + 16, p1);
    l[j] = l[j] * a + hsum512(_mm512_add_ps(p0, p1));
    m[j] = mNew;
    alpha[j] = a;
  }
  // 3. o ← o·α + p·v, up to 8 heads per pass over the V rows
  for (int64_t j0 = 0; j0 < g; j0 += 8) {
    float* oj = o + j0 * hd;
    const float* sj = s + j0 * kMaxTile;
    const float* aj = alpha + j0;
    switch (std::min<int64_t>(8, g - j0)) {
      case 1: accumulateHeads<1>(oj, hd, vp, n, sj, aj); break;
      case 2: accumulateHeads<2>(oj, hd, vp, n, sj, aj); break;
      case 3: accumulateHeads<3>(oj, hd, vp, n, sj, aj); break;
      case 4: accumulateHeads<4>(oj, hd, vp, n, sj, aj); break;
      case 5: accumulateHeads<5>(oj, hd, vp, n, sj, aj); break;
      case 6: accumulateHeads<6>(oj, hd, vp, n, sj, aj); break;
      case 7: accumulateHeads<7>(oj, hd, vp, n, sj, aj); break;
      default: accumulateHeads<8>(oj, hd, vp, n, sj, aj); break;
    }
  }
}

}  // namespace

namespace {

/**
 * Output of token t for the query heads of KV heads [h0, h1) (one task of the thread pool). The heads
 * walk the context together, tile by tile, so the cache rows a tile brings in (the KV heads of a
 * position are adjacent) serve all of them; each head's arithmetic is the same whatever the range.
 */
template <class E>
void attendHeads(const AttentionArgs& a, const E* kCache, const E* vCache, TileFn<E> tile, int64_t t, int64_t h0,
                 int64_t h1) {
  const int64_t hd = a.headDim;
  const int64_t g = a.nHeads / a.nKvHeads;
  const int64_t nh = h1 - h0;
  const int64_t kvWidth = a.nKvHeads * hd;
  const int64_t bs = a.blockSize;
  const int64_t tileMax = kTilePositions;
  const int64_t maxSpans = tileMax;

  thread_local std::vector<float> buf;
  thread_local std::vector<Span<E>> spanBuf;
  // scores: a row of kMaxTile per head and g factors (the AVX-512 tile) or one row of tileMax + bs
  const int64_t sSize = std::max<int64_t>(tileMax + bs + 16, g * kMaxTile + g + 16) / 16 * 16 + 16;
  const int64_t state = g * hd + 2 * g;  // per KV head: o [g × hd], m [g], l [g]
  const size_t need = static_cast<size_t>(sSize + nh * state + 16);
  if (buf.size() < need) buf.resize(need);
  if (spanBuf.size() < static_cast<size_t>(2 * maxSpans)) spanBuf.resize(static_cast<size_t>(2 * maxSpans));
  Span<E>* spans = spanBuf.data();         // the tile's spans at KV head 0
  Span<E>* headSpans = spans + maxSpans;   // the same, shifted to one head
  float* s = buf.data() + (16 - reinterpret_cast<uintptr_t>(buf.data()) / 4 % 16) % 16;  // 64-byte aligned
  float* st = s + sSize;

  for (int64_t h = 0; h < nh; h++) {
    float* o = st + h * state;
    std::memset(o, 0, static_cast<size_t>(g * hd) * sizeof(float));
    for (int64_t j = 0; j < g; j++) {
      o[g * hd + j] = -std::numeric_limits<float>::infinity();  // m
      o[g * hd + g + j] = 0.0f;                                 // l
    }
  }
  const int32_t* table = a.blockTables + static_cast<int64_t>(a.tokenSeq[t]) * a.maxBlocksPerSeq;
  const int64_t len = static_cast<int64_t>(a.tokenPos[t]) + 1;
  // tiles of ≥ tileMax positions made of spans (≤ tileMax positions of one block each)
  int64_t p = 0;
  while (p < len) {
    int64_t nSpans = 0, positions = 0;
    while (p < len && positions < tileMax) {
      const int64_t b = p / bs, off = p % bs;
      const int64_t blockEnd = (b + 1) * bs < len ? (b + 1) * bs : len;
      const int64_t n = blockEnd - p < tileMax ? blockEnd - p : tileMax;
      const int64_t base = (static_cast<int64_t>(table[b]) * bs + off) * kvWidth;
      spans[nSpans++] = Span<E>{kCache + base, vCache + base, n};
      positions += n;
      p += n;
    }
    // prefetch the next tile's rows (the KV heads this task reads) while this one is computed
    for (int64_t q = p; q < std::min(len, p + tileMax); q++) {
      const int64_t base = (static_cast<int64_t>(table[q / bs]) * bs + q % bs) * kvWidth + h0 * hd;
      const char* kr = reinterpret_cast<const char*>(kCache + base);
      const char* vr = reinterpret_cast<const char*>(vCache + base);
      for (int64_t o = 0; o < static_cast<int64_t>(nh * hd * sizeof(E)); o += 64) {
        _mm_prefetch(kr + o, _MM_HINT_T0);
        _mm_prefetch(vr + o, _MM_HINT_T0);
      }
    }
    for (int64_t h = 0; h < nh; h++) {
      const int64_t shift = (h0 + h) * hd;
      for (int64_t i = 0; i < nSpans; i++) headSpans[i] = Span<E>{spans[i].k + shift, spans[i].v + shift, spans[i].n};
      float* o = st + h * state;
      tile(a.q + (t * a.nHeads + (h0 + h) * g) * hd, g, hd, headSpans, nSpans, kvWidth, a.scale, o + g * hd,
           o + g * hd + g, o, s);
    }
  }
  for (int64_t h = 0; h < nh; h++) {
    const float* o = st + h * state;
    float* og = a.out + (t * a.nHeads + (h0 + h) * g) * hd;
    for (int64_t j = 0; j < g; j++) {
      const float inv = 1.0f / o[g * hd + g + j];
      for (int64_t d = 0; d < hd; d++) og[j * hd + d] = o[j * hd + d] * inv;
    }
  }
}

/** Below this many multiply-adds (Σ context × heads × headDim × 2) a call stays on one thread. */
constexpr int64_t kMinParallelWork = int64_t{1} << 16;

template <class E>
void attentionT(const AttentionArgs& a, const E* kCache, const E* vCache) {
  TileFn<E> tile = tileScalar<E>;
  switch (currentIsa()) {
    case Isa::Avx512: tile = tileAvx512<E>; break;
    case Isa::Avx2: tile = tileAvx2<E>; break;
    case Isa::Scalar: break;
  }
  int64_t work = 0;
  for (int64_t t = 0; t < a.T; t++) work += (static_cast<int64_t>(a.tokenPos[t]) + 1) * a.nHeads * a.headDim * 2;
  const bool parallel = work >= kMinParallelWork;
  // one task per token (all its KV heads) when there are enough tokens to go round, else per
  // (token, KV head); each task writes its own slice of out
  const int64_t perTask = !parallel || a.T >= 2 * numThreads() ? a.nKvHeads : 1;
  const int64_t split = a.nKvHeads / perTask;
  const int64_t tasks = a.T * split;
  auto body = [&](int64_t i) {
    const int64_t h0 = (i % split) * perTask;
    attendHeads<E>(a, kCache, vCache, tile, i / split, h0, h0 + perTask);
  };
  if (!parallel) {
    for (int64_t i = 0; i < tasks; i++) body(i);
  } else {
    parallelFor(tasks, body);
  }
}

}  // namespace

void attention(const AttentionArgs& a) {
  if (a.f16) {
    attentionT(a, static_cast<const uint16_t*>(a.kCache), static_cast<const uint16_t*>(a.vCache));
  } else {
    attentionT(a, static_cast<const float*>(a.kCache), static_cast<const float*>(a.vCache));
  }
}

}  // namespace tsd
