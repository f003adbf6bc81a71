// Vocabulary-sized loops of the sampler (src/engine/sampler.ts): top-k ids, log-sum-exp and a
// categorical draw over a row of logits. Each runs in one thread in a fixed order, so a row gives
// the same answer in any batch.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "cpu.h"
#include "kernels.h"
#include "simd.h"

namespace tsd {

namespace {

/** Sort key: NaN ranks below every number (also below −∞). */
inline float rankKey(float v) { return v != v ? -std::numeric_limits<float>::infinity() : v; }

struct Entry {
  float key;
  int32_t id;
  /** better = larger value, then lower id */
  bool operator<(const Entry& o) const { return key > o.key || (key == o.key && id < o.id); }
};

/** The largest value, ignoring NaN (−∞ if there is none). */
TSD_AVX512 float maxAvx512(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) m = _mm512_max_ps(_mm512_loadu_ps(x + i), m);  // a NaN lane keeps m
  float r = _mm512_reduce_max_ps(m);
  for (; i < n; i++) r = x[i] > r ? x[i] : r;
  return r;
}

float maxOf(const float* x, int64_t n) {
  if (currentIsa() == Isa::Avx512) return maxAvx512(x, n);
  float r = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; i++) r = x[i] > r ? x[i] : r;
  return r;
}

/** w[i] = e^{scale·(x_i − m)} (0 for x_i = −∞); returns Σ w in double (fixed order per ISA). */
double weightsScalar(const float* x, int64_t n, float scale, float m, float* w) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) {
    const float e = x[i] == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(scale * (x[i] - m));
    if (w != nullptr) w[i] = e;
    s += static_cast<double>(e);
  }
  return s;
}

TSD_AVX512 double weightsAvx512(const float* x, int64_t n, float scale, float m, float* w) {
  const __m512 sv = _mm512_set1_ps(scale), mv = _mm512_set1_ps(m);
  const __m512 ninf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? static_cast<__mmask16>(0xffff) : tailMask16(n - i);
    const __m512 v = _mm512_mask_loadu_ps(ninf, k, x + i);
    const __mmask16 live = _mm512_cmp_ps_mask(v, ninf, _CMP_NEQ_UQ);
    const __m512 e = _mm512_maskz_mov_ps(live, exp512(_mm512_mul_ps(sv, _mm512_sub_ps(v, mv))));
    if (w != nullptr) _mm512_mask_storeu_ps(w + i, k, e);
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

double weights(const float* x, int64_t n, float scale, float m, float* w) {
  if (currentIsa() == Isa::Avx512) return weightsAvx512(x, n, scale, m, w);
  return weightsScalar(x, n, scale, m, w);
}

}  // namespace

int64_t topK(const float* x, int64_t n, int64_t k, int32_t* out) {
  k = std::min(k, n);
  if (k <= 0) return 0;
  if (k == 1) {  // greedy: the first position of the maximum (NaN only if everything is NaN)
    const float m = maxOf(x, n);
    int64_t i = 0;
    if (m == m) {
      while (x[i] != m) i++;
    }
    out[0] = static_cast<int32_t>(i);
    return 1;
  }
  std::vector<Entry> best;
  if (k * 16 <= n) {
    // one pass with a heap of the k best so far (its top is the worst of them)
    best.reserve(static_cast<size_t>(k));
    for (int64_t i = 0; i < n; i++) {
      const Entry e{rankKey(x[i]), static_cast<int32_t>(i)};
      if (static_cast<int64_t>(best.size()) < k) {
        best.push_back(e);
        std::push_heap(best.begin(), best.end());
      } else if (e < best.front()) {
        std::pop_heap(best.begin(), best.end());
        best.back() = e;
        std::push_heap(best.begin(), best.end());
      }
    }
    std::sort(best.begin(), best.end());
  } else {
    best.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++) best[static_cast<size_t>(i)] = Entry{rankKey(x[i]), static_cast<int32_t>(i)};
    std::nth_element(best.begin(), best.begin() + (k - 1), best.end());
    std::sort(best.begin(), best.begin() + k);
  }
  for (int64_t i = 0; i < k; i++) out[i] = best[static_cast<size_t>(i)].id;
  return k;
}

double logSumExp(const float* x, int64_t n, float scale) {
  if (n <= 0) return -std::numeric_limits<double>::infinity();
  const float m = maxOf(x, n);
  if (m == -std::numeric_limits<float>::infinity() || m != m) return static_cast<double>(m);
  return static_cast<double>(scale) * static_cast<double>(m) + std::log(weights(x, n, scale, m, nullptr));
}

int64_t sampleCategorical(const float* x, int64_t n, float scale, double u) {
  if (n <= 0) return -1;
  const float m = maxOf(x, n);
  thread_local std::vector<float> w;
  if (w.size() < static_cast<size_t>(n)) w.resize(static_cast<size_t>(n));
  const double total = weights(x, n, scale, m, w.data());
  const double target = u * total;
  double c = 0.0;
  int64_t last = 0;
  for (int64_t i = 0; i < n; i++) {
    if (w[static_cast<size_t>(i)] <= 0.0f) continue;
    c += static_cast<double>(w[static_cast<size_t>(i)]);
    last = i;
    if (c > target) return i;
  }
  return last;  // u·total rounded up to the total: the last token with weight
}

}  // namespace tsd
