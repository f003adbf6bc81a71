// AVX-512 integer matmul (contract in qmatmul.h). One 512-bit register holds a block pair: the
// weights as unsigned bytes (Q8_0: w + 128; Q4_0: the raw nibbles, i.e. w + 8), the activations as
// signed bytes in the same order, and vpdpbusd starts from the per-lane correction c = −bias·Σq, so
// each int32 lane ends up with the exact P(k, j). Then one convert, the scale product and an FMA
// per lane, exactly as the scalar code.
//
// Tiles of TT tokens × R weight rows share every weight load among TT tokens and every activation
// load among R rows; a token's lanes see the same operations whatever tile it is in.
#include <algorithm>
#include <vector>

#include "cpu.h"
#include "matmul.h"
#include "qmatmul.h"
#include "quant.h"
#include "simd.h"

namespace tsd {

namespace {

/** Lane → block-of-pair index vectors: Q8_0 [0×8, 1×8], Q4_0 [0×4, 1×4, 0×4, 1×4]. */
TSD_AVX512VNNI inline __m512i pairIndex(int type) {
  return type == kQ4_0 ? _mm512_set_epi32(1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0)
                       : _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
}

/**
 * The f16 scales of a block pair starting at `pair` (the second one `second` bytes later, 0 if
 * `half`) spread over the lanes: a masked load of the two words, a word permute that places them
 * as in pairIndex, one conversion.
 */
template <int kType>
TSD_AVX512VNNI inline __m512 pairScales(const uint8_t* pair, bool half) {
  constexpr int w1 = kType == kQ4_0 ? static_cast<int>(sizeof(BlockQ4_0)) / 2 : static_cast<int>(sizeof(BlockQ8_0)) / 2;
  const __mmask32 m = half ? 1u : 1u | (1u << w1);
  const __m512i v = _mm512_maskz_loadu_epi16(m, pair);
  const __m512i idx = kType == kQ4_0 ? _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, w1, w1, w1, w1,
                                                         0, 0, 0, 0, w1, w1, w1, w1, 0, 0, 0, 0)
                                     : _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, w1, w1, w1, w1,
                                                         w1, w1, w1, w1, 0, 0, 0, 0, 0, 0, 0, 0);
  return _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(idx, v)));
}

struct WQ8 {
  static constexpr int kType = kQ8_0;
  static constexpr int kBlockBytes = sizeof(BlockQ8_0);
  const BlockQ8_0* b = nullptr;
  WQ8() = default;
  explicit WQ8(const uint8_t* p) : b(reinterpret_cast<const BlockQ8_0*>(p)) {}
  const uint8_t* addr(int64_t pair) const { return reinterpret_cast<const uint8_t*>(b + 2 * pair); }
  /** Block pair `pair` (only its first block if `half`) as unsigned bytes. */
  TSD_AVX512VNNI __m512i load(int64_t pair, bool half) const {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[2 * pair].qs));
    const __m256i hi = half ? _mm256_setzero_si256() : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[2 * pair + 1].qs));
    return _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), _mm512_set1_epi8(-128));
  }
  TSD_AVX512VNNI __m512 scales(int64_t pair, bool half, __m512i idx) const {
    const uint32_t bits = static_cast<uint32_t>(loadU16(b[2 * pair].d)) | (half ? 0u : static_cast<uint32_t>(loadU16(b[2 * pair + 1].d)) << 16);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(bits)))));
  }
};

struct WQ4 {
  static constexpr int kType = kQ4_0;
  static constexpr int kBlockBytes = sizeof(BlockQ4_0);
  const BlockQ4_0* b = nullptr;
  WQ4() = default;
  explicit WQ4(const uint8_t* p) : b(reinterpret_cast<const BlockQ4_0*>(p)) {}
  const uint8_t* addr(int64_t pair) const { return reinterpret_cast<const uint8_t*>(b + 2 * pair); }
  /** [lo nibbles of k, lo of k+1, hi of k, hi of k+1] (block k+1 zero if `half`). */
  TSD_AVX512VNNI __m512i load(int64_t pair, bool half) const {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[2 * pair].qs));
    const __m128i c = half ? _mm_setzero_si128() : _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[2 * pair + 1].qs));
    const __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(a), c, 1);
    const __m256i m = _mm256_set1_epi8(0x0f);
    const __m256i lo = _mm256_and_si256(v, m);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  }
  TSD_AVX512VNNI __m512 scales(int64_t pair, bool half, __m512i idx) const {
    const uint32_t bits = static_cast<uint32_t>(loadU16(b[2 * pair].d)) | (half ? 0u : static_cast<uint32_t>(loadU16(b[2 * pair + 1].d)) << 16);
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(bits)))));
  }
};

/** y[t × ldy + r] for t < TT, r < R; tokens t0… of a. */
template <int TT, int R, class W>
TSD_AVX512VNNI void qtile(float* y, int64_t ldy, const QActs& a, int64_t t0, const W* w, int64_t pf) {
  __m512 acc[TT][R];
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) acc[t][r] = _mm512_setzero_ps();
  const __m512i idx = pairIndex(W::kType);
  const int8_t* q = a.q + t0 * a.qStride();
  const int32_t* c = a.c + t0 * a.cStride();
  const float* d = a.d + t0 * a.nbp;
  const int64_t np = a.nbp / 2;
  for (int64_t p = 0; p < np; p++) {
    const bool half = 2 * p + 1 >= a.nb;
    __m512i wv[R];
    __m512 dw[R];
    for (int r = 0; r < R; r++) {
      if (pf != 0) {
        for (int o = 0; o < 2 * W::kBlockBytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(w[r].addr(p) + pf + o), _MM_HINT_T0);
      }
      wv[r] = w[r].load(p, half);
      dw[r] = w[r].scales(p, half, idx);
    }
    for (int t = 0; t < TT; t++) {
      const __m512i xv = _mm512_loadu_si512(q + t * a.qStride() + 64 * p);
      const __m512i cv = _mm512_loadu_si512(c + t * a.cStride() + 16 * p);
      const __m128 dd = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(d + t * a.nbp + 2 * p)));
      const __m512 dx = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(dd));
      for (int r = 0; r < R; r++) {
        const __m512i P = _mm512_dpbusd_epi32(cv, wv[r], xv);
        acc[t][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(P), _mm512_mul_ps(dw[r], dx), acc[t][r]);
      }
    }
  }
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) y[t * ldy + r] = hsum512(acc[t][r]);
}

/** One token × R ≤ 16 rows, row by row inside each block pair (the same per-lane operations). */
template <int R, class W>
TSD_AVX512VNNI void qtile1(float* y, int64_t ldy, const QActs& a, int64_t t0, const W* w, int64_t pf) {
  __m512 acc[R];
  for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
  const __m512i idx = pairIndex(W::kType);
  const int8_t* q = a.q + t0 * a.qStride();
  const int32_t* c = a.c + t0 * a.cStride();
  const float* d = a.d + t0 * a.nbp;
  const int64_t np = a.nbp / 2;
  for (int64_t p = 0; p < np; p++) {
    const bool half = 2 * p + 1 >= a.nb;
    const __m512i xv = _mm512_loadu_si512(q + 64 * p);
    const __m512i cv = _mm512_loadu_si512(c + 16 * p);
    const __m128 dd = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(d + 2 * p)));
    const __m512 dx = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(dd));
    for (int r = 0; r < R; r++) {
      if (pf != 0) {
        for (int o = 0; o < 2 * W::kBlockBytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(w[r].addr(p) + pf + o), _MM_HINT_T0);
      }
      const __m512i P = _mm512_dpbusd_epi32(cv, w[r].load(p, half), xv);
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(P), _mm512_mul_ps(w[r].scales(p, half, idx), dx), acc[r]);
    }
  }
  for (int r = 0; r < R; r++) y[r] = hsum512(acc[r]);
  (void)ldy;
}

template <class W>
using QTileFn = void (*)(float*, int64_t, const QActs&, int64_t, const W*, int64_t);

template <class W>
const QTileFn<W> kQTiles1[16] = {qtile1<1, W>,  qtile1<2, W>,  qtile1<3, W>,  qtile1<4, W>,  qtile1<5, W>,  qtile1<6, W>,
                                 qtile1<7, W>,  qtile1<8, W>,  qtile1<9, W>,  qtile1<10, W>, qtile1<11, W>, qtile1<12, W>,
                                 qtile1<13, W>, qtile1<14, W>, qtile1<15, W>, qtile1<16, W>};

constexpr int kQMaxTileTokens = 4;

// kQTiles<W>[tt − 1][r − 1]: one token up to 8 rows, 2…4 tokens up to 4 rows (≤ 16 accumulators)
template <class W>
const QTileFn<W> kQTiles[kQMaxTileTokens][8] = {
    {qtile<1, 1, W>, qtile<1, 2, W>, qtile<1, 3, W>, qtile<1, 4, W>, qtile<1, 5, W>, qtile<1, 6, W>, qtile<1, 7, W>,
     qtile<1, 8, W>},
    {qtile<2, 1, W>, qtile<2, 2, W>, qtile<2, 3, W>, qtile<2, 4, W>, nullptr, nullptr, nullptr, nullptr},
    {qtile<3, 1, W>, qtile<3, 2, W>, qtile<3, 3, W>, qtile<3, 4, W>, nullptr, nullptr, nullptr, nullptr},
    {qtile<4, 1, W>, qtile<4, 2, W>, qtile<4, 3, W>, qtile<4, 4, W>, nullptr, nullptr, nullptr, nullptr},
};

/** Few tokens (decode): token blocks → panels of weight rows → tiles of ≤ 4 tokens, direct loads. */
template <class W>
TSD_AVX512VNNI void qdrive(float* y, int64_t ldy, const QActs& a, int64_t rows, const uint8_t* w) {
  const size_t rb = rowBytes(a.type, a.cols);
  const int64_t perToken = a.qStride() + 4 * a.cStride() + 4 * a.nbp;
  const int64_t tb = std::max<int64_t>(8, std::min<int64_t>(256, (256 * 1024) / perToken));
  const int64_t panel = a.T == 1 ? 16 : 4;
  W wr[16];
  for (int64_t t0 = 0; t0 < a.T; t0 += tb) {
    const int64_t t1 = std::min(a.T, t0 + tb);
    for (int64_t r0 = 0; r0 < rows; r0 += panel) {
      const int64_t rn = std::min(panel, rows - r0);
      const int64_t pf = t0 > 0 ? 0 : std::max<int64_t>(panel * static_cast<int64_t>(rb), kPrefetchMin);
      for (int64_t r = 0; r < rn; r++) wr[r] = W(w + static_cast<size_t>(r0 + r) * rb);
      for (int64_t t = t0; t < t1; t += kQMaxTileTokens) {
        const int64_t tn = std::min<int64_t>(kQMaxTileTokens, t1 - t);
        if (a.T == 1) kQTiles1<W>[rn - 1](y + t * ldy + r0, ldy, a, t, wr, pf);
        else kQTiles<W>[tn - 1][rn - 1](y + t * ldy + r0, ldy, a, t, wr, t == t0 ? pf : 0);
      }
    }
  }
}

// ---- many tokens: weights unpacked once per row group ---------------------------------------------
//
// A group of rows is unpacked into registers-ready form (64 unsigned bytes per block pair, f32
// scales) that stays in L1 while every token tile passes over it; each token tile's activations are
// read from L2 once per group. The per-lane operations are those of qtile, so the results are the same.

/** Row group of the packed route: rows whose unpacked form fits ≈ 24 KiB (a multiple of 4, ≤ 16). */
inline int64_t packedGroupRows(const QActs& a) {
  const int64_t perRow = a.nbp * 32 + a.nbp * 4;
  return std::max<int64_t>(4, std::min<int64_t>(16, (24 * 1024 / perRow) / 4 * 4));
}

template <int TT, int R>
TSD_AVX512VNNI void qtilePacked(float* y, int64_t ldy, const QActs& a, int64_t t0, const uint8_t* pk, const float* ds,
                                __m512i idx) {
  __m512 acc[TT][R];
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) acc[t][r] = _mm512_setzero_ps();
  const int8_t* q = a.q + t0 * a.qStride();
  const int32_t* c = a.c + t0 * a.cStride();
  const float* d = a.d + t0 * a.nbp;
  const int64_t np = a.nbp / 2;
  for (int64_t p = 0; p < np; p++) {
    __m512i wv[R];
    __m512 dw[R];
    for (int r = 0; r < R; r++) {
      wv[r] = _mm512_load_si512(pk + (r * np + p) * 64);
      const __m128 dd = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(ds + r * a.nbp + 2 * p)));
      dw[r] = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(dd));
    }
    for (int t = 0; t < TT; t++) {
      const __m512i xv = _mm512_loadu_si512(q + t * a.qStride() + 64 * p);
      const __m512i cv = _mm512_loadu_si512(c + t * a.cStride() + 16 * p);
      const __m128 dd = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(d + t * a.nbp + 2 * p)));
      const __m512 dx = _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(dd));
      for (int r = 0; r < R; r++) {
        const __m512i P = _mm512_dpbusd_epi32(cv, wv[r], xv);
        acc[t][r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(P), _mm512_mul_ps(dw[r], dx), acc[t][r]);
      }
    }
  }
  for (int t = 0; t < TT; t++)
    for (int r = 0; r < R; r++) y[t * ldy + r] = hsum512(acc[t][r]);
}

using QPackedFn = void (*)(float*, int64_t, const QActs&, int64_t, const uint8_t*, const float*, __m512i);

const QPackedFn kQPacked[kQMaxTileTokens][4] = {
    {qtilePacked<1, 1>, qtilePacked<1, 2>, qtilePacked<1, 3>, qtilePacked<1, 4>},
    {qtilePacked<2, 1>, qtilePacked<2, 2>, qtilePacked<2, 3>, qtilePacked<2, 4>},
    {qtilePacked<3, 1>, qtilePacked<3, 2>, qtilePacked<3, 3>, qtilePacked<3, 4>},
    {qtilePacked<4, 1>, qtilePacked<4, 2>, qtilePacked<4, 3>, qtilePacked<4, 4>},
};

template <class W>
TSD_AVX512VNNI void qgemm(float* y, int64_t ldy, const QActs& a, int64_t rows, const uint8_t* w) {
  const size_t rb = rowBytes(a.type, a.cols);
  const int64_t np = a.nbp / 2;
  const int64_t G = packedGroupRows(a);
  const __m512i idx = pairIndex(W::kType);
  thread_local std::vector<uint8_t> buf;
  const size_t packBytes = static_cast<size_t>(G * np * 64), scaleBytes = static_cast<size_t>(G * a.nbp * 4);
  if (buf.size() < packBytes + scaleBytes + 64) buf.resize(packBytes + scaleBytes + 64);
  uint8_t* pk = buf.data() + (64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64;
  float* ds = reinterpret_cast<float*>(pk + packBytes);
  for (int64_t r0 = 0; r0 < rows; r0 += G) {
    const int64_t g = std::min(G, rows - r0);
    for (int64_t r = 0; r < g; r++) {
      const W row(w + static_cast<size_t>(r0 + r) * rb);
      for (int64_t p = 0; p < np; p++) {
        const bool half = 2 * p + 1 >= a.nb;
        _mm512_store_si512(pk + (r * np + p) * 64, row.load(p, half));
        ds[r * a.nbp + 2 * p] = loadF16(row.b[2 * p].d);
        ds[r * a.nbp + 2 * p + 1] = half ? 0.0f : loadF16(row.b[2 * p + 1].d);
      }
    }
    // prefetch the next group into L2 while this one is multiplied
    const char* pfNext = reinterpret_cast<const char*>(w + static_cast<size_t>(std::min(rows, r0 + G)) * rb);
    const char* pfEnd = reinterpret_cast<const char*>(w + static_cast<size_t>(std::min(rows, r0 + 2 * G)) * rb);
    const int64_t tiles = (a.T + kQMaxTileTokens - 1) / kQMaxTileTokens;
    const int64_t pfPerTile = (pfEnd - pfNext + 64 * tiles - 1) / (64 * tiles);
    for (int64_t t = 0; t < a.T; t += kQMaxTileTokens) {
      const int64_t tn = std::min<int64_t>(kQMaxTileTokens, a.T - t);
      for (int64_t i = 0; i < pfPerTile && pfNext < pfEnd; i++, pfNext += 64) _mm_prefetch(pfNext, _MM_HINT_T1);
      for (int64_t rp = 0; rp < g; rp += 4) {
        const int64_t rn = std::min<int64_t>(4, g - rp);
        kQPacked[tn - 1][rn - 1](y + t * ldy + r0 + rp, ldy, a, t, pk + rp * np * 64, ds + rp * a.nbp, idx);
      }
    }
  }
}

}  // namespace

void qmatmulAvx512(float* y, int64_t ldy, const QActs& a, int64_t rows, const uint8_t* w) {
  if (!hasAvx512Vnni()) return qmatmulAvx2(y, ldy, a, rows, w);
  if (a.T <= kQMaxTileTokens) {
    if (a.type == kQ8_0) return qdrive<WQ8>(y, ldy, a, rows, w);
    return qdrive<WQ4>(y, ldy, a, rows, w);
  }
  if (a.type == kQ8_0) return qgemm<WQ8>(y, ldy, a, rows, w);
  return qgemm<WQ4>(y, ldy, a, rows, w);
}

TSD_AVX512 inline __m512 abs512(__m512 v, __m512i mask) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), mask));
}

/** As the scalar quantizeActs: amax, d = amax/127, q = round-half-even(x · (1/d)), lane sums. */
TSD_AVX512 void quantizeActsAvx512(const QActs& a, const float* x, int64_t t0, int64_t t1) {
  const __m512i signMask = _mm512_set1_epi32(0x7fffffff);
  const __m512i ones8 = _mm512_set1_epi8(1);
  const __m512i ones16 = _mm512_set1_epi16(1);
  const __m512i nbias = _mm512_set1_epi32(a.type == kQ4_0 ? -8 : -128);
  for (int64_t t = t0; t < t1; t++) {
    const float* xr = x + t * a.cols;
    int8_t* q = a.q + t * a.qStride();
    float* d = a.d + t * a.nbp;
    int32_t* c = a.c + t * a.cStride();
    for (int64_t p = 0; p < a.nbp / 2; p++) {
      __m128i parts[2][2];  // [block parity][half]: 16 int8 each
      for (int odd = 0; odd < 2; odd++) {
        const int64_t k = 2 * p + odd;
        if (k >= a.nb) {
          d[k] = 0.0f;
          parts[odd][0] = parts[odd][1] = _mm_setzero_si128();
          continue;
        }
        const __m512 v0 = _mm512_loadu_ps(xr + 32 * k);
        const __m512 v1 = _mm512_loadu_ps(xr + 32 * k + 16);
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs512(v0, signMask), abs512(v1, signMask)));
        const float dk = amax / 127.0f;
        const float id = dk != 0.0f ? 1.0f / dk : 0.0f;
        d[k] = dk;
        const __m512 iv = _mm512_set1_ps(id);
        parts[odd][0] = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, iv)));
        parts[odd][1] = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, iv)));
      }
      __m512i qv;
      if (a.type == kQ4_0) {
        qv = _mm512_inserti32x4(_mm512_castsi128_si512(parts[0][0]), parts[1][0], 1);
        qv = _mm512_inserti32x4(qv, parts[0][1], 2);
        qv = _mm512_inserti32x4(qv, parts[1][1], 3);
      } else {
        qv = _mm512_inserti32x4(_mm512_castsi128_si512(parts[0][0]), parts[0][1], 1);
        qv = _mm512_inserti32x4(qv, parts[1][0], 2);
        qv = _mm512_inserti32x4(qv, parts[1][1], 3);
      }
      _mm512_storeu_si512(q + 64 * p, qv);
      const __m512i sums = _mm512_madd_epi16(_mm512_maddubs_epi16(ones8, qv), ones16);
      _mm512_storeu_si512(c + 16 * p, _mm512_mullo_epi32(sums, nbias));
    }
  }
}

}  // namespace tsd
