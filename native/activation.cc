// SwiGLU: out = silu(gate) · up, silu(z) = z / (1 + e^{−z}), all in float.
#include <cmath>

#include "kernels.h"

namespace tsd {

void swiglu(float* out, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float g = gate[i];
    out[i] = (g / (1.0f + std::exp(-g))) * up[i];
  }
}

}  // namespace tsd
