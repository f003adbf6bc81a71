// RMSNorm. The sum of squares is accumulated in double in element order (exact products, one
// rounding per add), so the result is independent of ISA and batch and matches the TS reference.
#include <cmath>

#include "kernels.h"

namespace tsd {

namespace {

/** Σ x² of G rows in double, element order per row; the G chains interleave (latency, not order). */
template <int G>
inline void sumSquares(const float* x, int64_t n, double* ss) {
  double acc[G] = {};
  for (int64_t i = 0; i < n; i++) {
    for (int g = 0; g < G; g++) {
      const double v = static_cast<double>(x[g * n + i]);
      acc[g] += v * v;
    }
  }
  for (int g = 0; g < G; g++) ss[g] = acc[g];
}

}  // namespace

void rmsNorm(float* out, const float* x, const float* weight, int64_t T, int64_t n, double eps) {
  constexpr int G = 4;
  for (int64_t t0 = 0; t0 < T; t0 += G) {
    double ss[G];
    const int64_t g = T - t0 < G ? T - t0 : G;
    if (g == G) sumSquares<G>(x + t0 * n, n, ss);
    else for (int64_t j = 0; j < g; j++) sumSquares<1>(x + (t0 + j) * n, n, ss + j);
    for (int64_t j = 0; j < g; j++) {
      const float* xr = x + (t0 + j) * n;
      float* yr = out + (t0 + j) * n;
      const float scale = static_cast<float>(1.0 / std::sqrt(ss[j] / static_cast<double>(n) + eps));
      for (int64_t i = 0; i < n; i++) yr[i] = weight[i] * (xr[i] * scale);
    }
  }
}

}  // namespace tsd
