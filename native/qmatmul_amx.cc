// AMX integer matmul (contract in qmatmul.h) for many tokens: one TDPBSSD multiplies a tile of 16
// tokens × one block (32 signed activation bytes each) by the block's packed quads of 16 rows
// (signed weights) into the 16 × 16 exact block sums P_k. Those leave the tile unit through a small
// buffer and the float chain of the contract runs on them with AVX-512, 16 rows per register.
//
// The block sums must be scaled per block (Q8_0/Q4_0 scales are per 32 elements), so every tile
// product is stored and consumed, and that round trip, not the multiply, bounds the speed. Panels
// therefore go in pairs that share each activation tile (two independent chains in flight); a
// lone last panel alternates two sets of tiles over the blocks instead. Q4_0 panels are unpacked
// to signed bytes once per panel (an L1/L2-resident buffer) and then serve every token tile. With
// few tokens the weights stream from memory once per call and are prefetched ahead. Q6_K's scales
// cover 16 elements, so its tiles are configured with 16-byte rows: two multiplies per block.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu.h"
#include "qmatmul.h"
#include "quant.h"
#include "simd.h"

#define TSD_AMX __attribute__((target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

namespace tsd {

namespace {

constexpr int64_t kTokenTile = 16;
/** Tokens per pass over the panels: keeps their quantised activations within L2. */
constexpr int64_t kTokenBlock = 256;
/** Up to this many tokens the weights stream from memory and are prefetched kPrefetchBytes ahead. */
constexpr int64_t kStreamingTokens = 64;
constexpr int64_t kPrefetchBytes = 8192;

struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t startRow = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

/**
 * Tiles for K-slices of `kBytes` activation bytes (32: a block; 16: Q6_K's half blocks):
 * tmm0/tmm3: 16 tokens × kBytes; tmm1/tmm4: kBytes/4 quads × 64 B (16 rows × 4); tmm2/tmm5: 16 × 16 int32.
 */
TSD_AMX void loadTileConfig(int kBytes) {
  TileConfig cfg;
  for (int i : {0, 3}) cfg.rows[i] = 16, cfg.colsb[i] = static_cast<uint16_t>(kBytes);
  for (int i : {1, 4}) cfg.rows[i] = static_cast<uint8_t>(kBytes / 4), cfg.colsb[i] = 64;
  for (int i : {2, 5}) cfg.rows[i] = 16, cfg.colsb[i] = 64;
  // GCC's _tile_loadconfig declares only 8 bytes as read, so the compiler could drop the stores
  // that fill the rest; the asm operand names the whole structure.
  __asm__ volatile("ldtilecfg %0" ::"m"(cfg));
}

TSD_AMX void releaseTiles() { __asm__ volatile("tilerelease" ::); }

/** Bytes of one block's scales in a packed panel (f16 dw, or Q4_K's f32 A and B). */
template <bool kMin>
constexpr int64_t kScaleBytes = kMin ? 128 : 32;

/**
 * acc[t] = fma(f32(P[t]), dw · d[t][k], acc[t]) for the 16 tokens of a tile; with kMin (Q4_K) dw is
 * A_k and a second FMA adds c[t][k] (= −S) · B_k · d[t][k].
 */
template <bool kMin>
TSD_AMX inline void scaleBlock(__m512* acc, const int32_t* sums, const uint8_t* scalesK, const float* d,
                               const int32_t* c, int64_t nb, int64_t k) {
  if constexpr (kMin) {
    const __m512 dw = _mm512_load_ps(reinterpret_cast<const float*>(scalesK));
    const __m512 dmin = _mm512_load_ps(reinterpret_cast<const float*>(scalesK + 64));
    for (int t = 0; t < 16; t++) {
      const __m512 P = _mm512_cvtepi32_ps(_mm512_load_si512(sums + 16 * t));
      const __m512 dx = _mm512_set1_ps(d[t * nb + k]);
      acc[t] = _mm512_fmadd_ps(P, _mm512_mul_ps(dw, dx), acc[t]);
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(static_cast<float>(c[t * nb + k])), _mm512_mul_ps(dmin, dx), acc[t]);
    }
  } else {
    const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(scalesK)));
    for (int t = 0; t < 16; t++) {
      const __m512 P = _mm512_cvtepi32_ps(_mm512_load_si512(sums + 16 * t));
      acc[t] = _mm512_fmadd_ps(P, _mm512_mul_ps(dw, _mm512_set1_ps(d[t * nb + k])), acc[t]);
    }
  }
}

/**
 * One tile: tokens t0 … t0+15 of a (rows beyond a.T are zero padding) × the 16 rows of a panel
 * whose signed quads are at `quads` (512 B per block) and f16 scales at `scales`.
 */
template <bool kMin>
TSD_AMX void tile16(float* y, int64_t ldy, const QActs& a, int64_t t0, const int8_t* quads, const uint8_t* scales,
                    int64_t rowsHere, const uint8_t* pf, int64_t pfStep) {
  constexpr int64_t sb = kScaleBytes<kMin>;
  const int32_t* c = a.c + t0 * a.nb;
  alignas(64) int32_t sums[2][256];
  __m512 acc[16];
  for (auto& v : acc) v = _mm512_setzero_ps();
  const int8_t* q = a.q + t0 * a.qStride();
  const float* d = a.d + t0 * a.nb;
  const int64_t qs = a.qStride();
  const int64_t nb = a.nb;
  _tile_loadd(0, q, qs);
  _tile_loadd(1, quads, 64);
  _tile_zero(2);
  _tile_dpbssd(2, 0, 1);
  int64_t k = 0;
  for (; k + 2 <= nb; k += 2) {
    if (pf != nullptr) prefetchLines<_MM_HINT_T0>(pf + k * pfStep, 2 * pfStep);
    _tile_loadd(3, q + (k + 1) * 32, qs);
    _tile_loadd(4, quads + (k + 1) * 512, 64);
    _tile_zero(5);
    _tile_dpbssd(5, 3, 4);
    _tile_stored(2, sums[0], 64);
    scaleBlock<kMin>(acc, sums[0], scales + k * sb, d, c, nb, k);
    if (k + 2 < nb) {
      _tile_loadd(0, q + (k + 2) * 32, qs);
      _tile_loadd(1, quads + (k + 2) * 512, 64);
      _tile_zero(2);
      _tile_dpbssd(2, 0, 1);
    }
    _tile_stored(5, sums[1], 64);
    scaleBlock<kMin>(acc, sums[1], scales + (k + 1) * sb, d, c, nb, k + 1);
  }
  if (k < nb) {  // odd block count: the last block is in tmm2
    _tile_stored(2, sums[0], 64);
    scaleBlock<kMin>(acc, sums[0], scales + k * sb, d, c, nb, k);
  }
  const __mmask16 m = static_cast<__mmask16>((1u << rowsHere) - 1);
  const int64_t tn = std::min<int64_t>(16, a.T - t0);
  for (int64_t t = 0; t < tn; t++) _mm512_mask_storeu_ps(y + (t0 + t) * ldy, m, acc[t]);
}

/**
 * Two panels (32 rows) for one tile of 16 tokens: each block's activation tile feeds two multiplies
 * whose sums are scaled while the next block loads; the two independent chains keep the tile unit
 * busier than tile16's one. Per element the operations are tile16's.
 */
template <bool kMin>
TSD_AMX void tile16x2(float* y, int64_t ldy, const QActs& a, int64_t t0, const int8_t* quads0, const uint8_t* scales0,
                      const int8_t* quads1, const uint8_t* scales1, int64_t rows1, const uint8_t* pf0, const uint8_t* pf1,
                      int64_t pfStep) {
  constexpr int64_t sb = kScaleBytes<kMin>;
  const int32_t* c = a.c + t0 * a.nb;
  alignas(64) int32_t sums[2][256];
  __m512 acc0[16], acc1[16];
  for (int t = 0; t < 16; t++) acc0[t] = acc1[t] = _mm512_setzero_ps();
  const int8_t* q = a.q + t0 * a.qStride();
  const float* d = a.d + t0 * a.nb;
  const int64_t qs = a.qStride();
  const int64_t nb = a.nb;
  for (int64_t k = 0; k < nb; k++) {
    if (pf0 != nullptr) {
      prefetchLines<_MM_HINT_T1>(pf0 + k * pfStep, pfStep);
      prefetchLines<_MM_HINT_T1>(pf1 + k * pfStep, pfStep);
    }
    _tile_loadd(0, q + k * 32, qs);
    _tile_loadd(1, quads0 + k * 512, 64);
    _tile_loadd(4, quads1 + k * 512, 64);
    _tile_zero(2);
    _tile_zero(5);
    _tile_dpbssd(2, 0, 1);
    _tile_dpbssd(5, 0, 4);
    _tile_stored(2, sums[0], 64);
    _tile_stored(5, sums[1], 64);
    scaleBlock<kMin>(acc0, sums[0], scales0 + k * sb, d, c, nb, k);
    scaleBlock<kMin>(acc1, sums[1], scales1 + k * sb, d, c, nb, k);
  }
  const __mmask16 m1 = static_cast<__mmask16>((1u << rows1) - 1);
  const int64_t tn = std::min<int64_t>(16, a.T - t0);
  for (int64_t t = 0; t < tn; t++) {
    _mm512_storeu_ps(y + (t0 + t) * ldy, acc0[t]);
    _mm512_mask_storeu_ps(y + (t0 + t) * ldy + kPanelRows, m1, acc1[t]);
  }
}

/**
 * Q6_K, one tile of 16 tokens × one panel: per block two multiplies of 16-element halves (their
 * scales differ), then acc = fma(P_half, s_half · d, acc) for both halves in order (qmatmul.h).
 */
TSD_AMX void tile16Halves(float* y, int64_t ldy, const QActs& a, int64_t t0, const int8_t* quads, const uint8_t* scales,
                          int64_t rowsHere, const uint8_t* pf, int64_t pfStep) {
  alignas(64) int32_t sums[2][256];
  __m512 acc[16];
  for (auto& v : acc) v = _mm512_setzero_ps();
  const int8_t* q = a.q + t0 * a.qStride();
  const float* d = a.d + t0 * a.nb;
  const int64_t qs = a.qStride();
  for (int64_t k = 0; k < a.nb; k++) {
    if (pf != nullptr) prefetchLines<_MM_HINT_T0>(pf + k * pfStep, pfStep);
    _tile_loadd(0, q + k * 32, qs);
    _tile_loadd(1, quads + k * 512, 64);
    _tile_loadd(3, q + k * 32 + 16, qs);
    _tile_loadd(4, quads + k * 512 + 256, 64);
    _tile_zero(2);
    _tile_zero(5);
    _tile_dpbssd(2, 0, 1);
    _tile_dpbssd(5, 3, 4);
    _tile_stored(2, sums[0], 64);
    _tile_stored(5, sums[1], 64);
    const __m512 s0 = _mm512_load_ps(reinterpret_cast<const float*>(scales + k * 128));
    const __m512 s1 = _mm512_load_ps(reinterpret_cast<const float*>(scales + k * 128 + 64));
    for (int t = 0; t < 16; t++) {
      const __m512 dx = _mm512_set1_ps(d[t * a.nb + k]);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(sums[0] + 16 * t)), _mm512_mul_ps(s0, dx), acc[t]);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(sums[1] + 16 * t)), _mm512_mul_ps(s1, dx), acc[t]);
    }
  }
  const __mmask16 m = static_cast<__mmask16>((1u << rowsHere) - 1);
  const int64_t tn = std::min<int64_t>(16, a.T - t0);
  for (int64_t t = 0; t < tn; t++) _mm512_mask_storeu_ps(y + (t0 + t) * ldy, m, acc[t]);
}

/**
 * 4-bit panel quads → signed bytes in the Q8_0 quad layout, 512 B per block: w = nibble − 8 (Q4_0,
 * offset 8) or the nibble itself (Q4_K, offset 0).
 */
TSD_AMX void unpackQ4Panel(const uint8_t* panel, int64_t nb, int8_t* out, const uint8_t* pf, int64_t step, int offset) {
  const __m512i m = _mm512_set1_epi8(0x0f);
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(offset));
  for (int64_t k = 0; k < nb; k++) {
    if (pf != nullptr) prefetchLines<_MM_HINT_T0>(pf + k * step, step);
    for (int j = 0; j < 4; j++) {
      const __m512i v = _mm512_load_si512(panel + k * 256 + 64 * j);
      _mm512_store_si512(out + k * 512 + 64 * j, _mm512_sub_epi8(_mm512_and_si512(v, m), bias));
      _mm512_store_si512(out + k * 512 + 64 * (j + 4),
                         _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(v, 4), m), bias));
    }
  }
}

template <bool kMin>
TSD_AMX void amxDrive(float* y, int64_t ldy, const QActs& a, const QPackLayout& L, int64_t panel0, int64_t panels,
                      const uint8_t* pk) {
  const int offset = L.kind == kQ4_0 ? 8 : 0;
  const int64_t step = L.quantBytes + L.scaleBytes;  // bytes of one block in the weight stream
  thread_local std::vector<int8_t> unpacked;
  int8_t* q4 = nullptr;  // 4-bit types: the panel(s) unpacked to signed bytes
  if (L.kind == kQ4_0 || L.kind == kQ4_K) {  // Q8_0's int8 and Q5_K's 5-bit bytes are tile-ready
    const size_t need = static_cast<size_t>(2 * L.nb * 512 + 64);
    if (unpacked.size() < need) unpacked.resize(need);
    q4 = unpacked.data() + (64 - reinterpret_cast<uintptr_t>(unpacked.data()) % 64) % 64;
  }
  // few token tiles per panel: the weights are read about once, straight from memory
  const bool streaming = a.T <= kStreamingTokens;
  for (int64_t tb = 0; tb < a.T; tb += kTokenBlock) {
    const int64_t te = std::min(a.T, tb + kTokenBlock);
    int64_t p = panel0;
    // panel pairs share each activation tile; 4-bit types unpack both (two buffers)
    for (; p + 2 <= panel0 + panels; p += 2) {
      const uint8_t* panel0p = pk + p * L.panelStride;
      const uint8_t* panel1p = panel0p + L.panelStride;
      const int64_t rows1 = std::min<int64_t>(kPanelRows, L.rows - (p + 1) * kPanelRows);
      const int8_t* quads0 = reinterpret_cast<const int8_t*>(panel0p);
      const int8_t* quads1 = reinterpret_cast<const int8_t*>(panel1p);
      if (q4 != nullptr) {
        unpackQ4Panel(panel0p, L.nb, q4, streaming ? panel0p + kPrefetchBytes : nullptr, step, offset);
        unpackQ4Panel(panel1p, L.nb, q4 + L.nb * 512, streaming ? panel1p + kPrefetchBytes : nullptr, step, offset);
        quads0 = q4;
        quads1 = q4 + L.nb * 512;
      }
      for (int64_t t = tb; t < te; t += kTokenTile) {
        // the first token tile streams the panels from memory: fetch the next pair meanwhile (only
        // within this call's panels; the other threads stream their own)
        const bool pf = streaming && t == tb && q4 == nullptr && p + 4 <= panel0 + panels;
        const uint8_t* next = panel0p + 2 * L.panelStride;
        tile16x2<kMin>(y + p * kPanelRows, ldy, a, t, quads0, panel0p + L.scaleOffset(), quads1,
                       panel1p + L.scaleOffset(), rows1, pf ? next : nullptr, pf ? next + L.panelStride : nullptr, step);
      }
    }
    for (; p < panel0 + panels; p++) {
      const uint8_t* panel = pk + p * L.panelStride;
      const int64_t rowsHere = std::min<int64_t>(kPanelRows, L.rows - p * kPanelRows);
      const int8_t* quads = reinterpret_cast<const int8_t*>(panel);
      if (q4 != nullptr) {
        unpackQ4Panel(panel, L.nb, q4, streaming ? panel + kPrefetchBytes : nullptr, step, offset);
        quads = q4;
      }
      for (int64_t t = tb; t < te; t += kTokenTile) {
        // the first token tile streams the panel from memory: fetch ahead along the weights
        const uint8_t* pf = streaming && t == tb && q4 == nullptr ? panel + kPrefetchBytes : nullptr;
        tile16<kMin>(y + p * kPanelRows, ldy, a, t, quads, panel + L.scaleOffset(), rowsHere, pf, step);
      }
    }
  }
}

}  // namespace

TSD_AMX void qmatmulAmx(float* y, int64_t ldy, const QActs& a, const QPackLayout& L, int64_t panel0, int64_t panels,
                const uint8_t* pk) {
  if (L.kind == kQ6_K) {
    loadTileConfig(16);
    const bool streaming = a.T <= kStreamingTokens;
    const int64_t step = L.quantBytes + L.scaleBytes;
    for (int64_t tb = 0; tb < a.T; tb += kTokenBlock) {
      for (int64_t p = panel0; p < panel0 + panels; p++) {
        const uint8_t* panel = pk + p * L.panelStride;
        const int64_t rowsHere = std::min<int64_t>(kPanelRows, L.rows - p * kPanelRows);
        for (int64_t t = tb; t < std::min(a.T, tb + kTokenBlock); t += kTokenTile) {
          const uint8_t* pf = streaming && t == tb ? panel + kPrefetchBytes : nullptr;
          tile16Halves(y + p * kPanelRows, ldy, a, t, reinterpret_cast<const int8_t*>(panel), panel + L.scaleOffset(),
                       rowsHere, pf, step);
        }
      }
    }
    releaseTiles();
    return;
  }
  loadTileConfig(32);
  if (L.kind == kQ4_K || L.kind == kQ5_K) amxDrive<true>(y, ldy, a, L, panel0, panels, pk);
  else amxDrive<false>(y, ldy, a, L, panel0, panels, pk);
  releaseTiles();
}

}  // namespace tsd
