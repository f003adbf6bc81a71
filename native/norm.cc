// RMSNorm. The sum of squares is accumulated in double in element order (exact products, one
// rounding per add), so the result is independent of ISA and batch and matches the TS reference.
#include <cmath>

#include "kernels.h"

namespace tsd {

void rmsNorm(float* out, const float* x, const float* weight, int64_t T, int64_t n, double eps) {
  for (int64_t t = 0; t < T; t++) {
    const float* xr = x + t * n;
    float* yr = out + t * n;
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += static_cast<double>(xr[i]) * static_cast<double>(xr[i]);
    const float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    for (int64_t i = 0; i < n; i++) yr[i] = weight[i] * (xr[i] * scale);
  }
}

}  // namespace tsd
