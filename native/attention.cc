// Paged KV cache store and causal GQA attention over it.
//
// For each token and KV head, the query heads of the group are processed together, walking the
// sequence's blocks in order with an online softmax (f32, running max subtracted). Every score is
// one dot product over headDim (simd.h), so a token's output depends only on its own query, its
// position and the cache contents — never on the other tokens of the batch.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu.h"
#include "kernels.h"
#include "simd.h"

namespace tsd {

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

namespace {

// s[j × n + i] = scale · (q_j · k_i) for the g query heads j of a group and n cached positions i.
using ScoresFn = void (*)(const float* q, int64_t g, int64_t hd, const float* k, int64_t kStride, int64_t n,
                          float scale, float* s);
// o_j += Σ_i p[j × n + i] · v_i
using AccumFn = void (*)(float* o, int64_t g, int64_t hd, const float* v, int64_t vStride, int64_t n,
                         const float* p);

void scoresScalar(const float* q, int64_t g, int64_t hd, const float* k, int64_t kStride, int64_t n, float scale,
                  float* s) {
  for (int64_t j = 0; j < g; j++)
    for (int64_t i = 0; i < n; i++) s[j * n + i] = dotScalar(q + j * hd, k + i * kStride, hd) * scale;
}
void accumScalar(float* o, int64_t g, int64_t hd, const float* v, int64_t vStride, int64_t n, const float* p) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < g; j++) axpyScalar(o + j * hd, p[j * n + i], v + i * vStride, hd);
}

TSD_AVX2 void scoresAvx2(const float* q, int64_t g, int64_t hd, const float* k, int64_t kStride, int64_t n,
                         float scale, float* s) {
  for (int64_t j = 0; j < g; j++)
    for (int64_t i = 0; i < n; i++) s[j * n + i] = dotAvx2(q + j * hd, k + i * kStride, hd) * scale;
}
TSD_AVX2 void accumAvx2(float* o, int64_t g, int64_t hd, const float* v, int64_t vStride, int64_t n,
                        const float* p) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < g; j++) axpyAvx2(o + j * hd, p[j * n + i], v + i * vStride, hd);
}

TSD_AVX512 void scoresAvx512(const float* q, int64_t g, int64_t hd, const float* k, int64_t kStride, int64_t n,
                             float scale, float* s) {
  for (int64_t j = 0; j < g; j++)
    for (int64_t i = 0; i < n; i++) s[j * n + i] = dotAvx512(q + j * hd, k + i * kStride, hd) * scale;
}
TSD_AVX512 void accumAvx512(float* o, int64_t g, int64_t hd, const float* v, int64_t vStride, int64_t n,
                            const float* p) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < g; j++) axpyAvx512(o + j * hd, p[j * n + i], v + i * vStride, hd);
}

}  // namespace

void attention(const AttentionArgs& a) {
  ScoresFn scores = scoresScalar;
  AccumFn accum = accumScalar;
  switch (currentIsa()) {
    case Isa::Avx512: scores = scoresAvx512; accum = accumAvx512; break;
    case Isa::Avx2: scores = scoresAvx2; accum = accumAvx2; break;
    case Isa::Scalar: break;
  }
  const int64_t hd = a.headDim;
  const int64_t g = a.nHeads / a.nKvHeads;
  const int64_t kvWidth = a.nKvHeads * hd;
  const int64_t bs = a.blockSize;

  thread_local std::vector<float> buf;
  const size_t need = static_cast<size_t>(g * bs + g * hd + 2 * g);
  if (buf.size() < need) buf.resize(need);
  float* s = buf.data();     // [g × bs] scores, then probabilities
  float* o = s + g * bs;     // [g × hd] unnormalised output
  float* m = o + g * hd;     // [g] running max
  float* l = m + g;          // [g] running sum of exp

  for (int64_t t = 0; t < a.T; t++) {
    const int32_t* table = a.blockTables + static_cast<int64_t>(a.tokenSeq[t]) * a.maxBlocksPerSeq;
    const int64_t len = static_cast<int64_t>(a.tokenPos[t]) + 1;
    for (int64_t h = 0; h < a.nKvHeads; h++) {
      const float* qg = a.q + (t * a.nHeads + h * g) * hd;
      std::memset(o, 0, static_cast<size_t>(g * hd) * sizeof(float));
      for (int64_t j = 0; j < g; j++) {
        m[j] = -std::numeric_limits<float>::infinity();
        l[j] = 0.0f;
      }
      for (int64_t b = 0; b * bs < len; b++) {
        const int64_t n = len - b * bs < bs ? len - b * bs : bs;
        const int64_t base = (static_cast<int64_t>(table[b]) * bs) * kvWidth + h * hd;
        scores(qg, g, hd, a.kCache + base, kvWidth, n, a.scale, s);
        for (int64_t j = 0; j < g; j++) {
          float* row = s + j * n;
          float bm = row[0];
          for (int64_t i = 1; i < n; i++) bm = row[i] > bm ? row[i] : bm;
          const float mNew = bm > m[j] ? bm : m[j];
          const float alpha = std::exp(m[j] - mNew);
          float sum = 0.0f;
          for (int64_t i = 0; i < n; i++) {
            row[i] = std::exp(row[i] - mNew);
            sum += row[i];
          }
          l[j] = l[j] * alpha + sum;
          m[j] = mNew;
          if (alpha != 1.0f) {
            float* oj = o + j * hd;
            for (int64_t d = 0; d < hd; d++) oj[d] *= alpha;
          }
        }
        accum(o, g, hd, a.vCache + base, kvWidth, n, s);
      }
      float* og = a.out + (t * a.nHeads + h * g) * hd;
      for (int64_t j = 0; j < g; j++) {
        const float inv = 1.0f / l[j];
        for (int64_t d = 0; d < hd; d++) og[j * hd + d] = o[j * hd + d] * inv;
      }
    }
  }
}

}  // namespace tsd
