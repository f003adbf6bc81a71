// Rotary position embedding, both pairings (models.md §1.8). angle = pos · invFreq[i] in float32
// (as HF does); cos/sin are evaluated in double and rounded to float; the rotation is in float.
#include <cmath>
#include <vector>

#include "kernels.h"

namespace tsd {

void rope(float* x, int64_t T, int64_t nHeads, int64_t headDim, const int32_t* pos, const float* invFreq,
          int pairing) {
  const int64_t half = headDim / 2;
  thread_local std::vector<float> cs;
  if (cs.size() < static_cast<size_t>(2 * half)) cs.resize(static_cast<size_t>(2 * half));
  float* cosv = cs.data();
  float* sinv = cs.data() + half;
  for (int64_t t = 0; t < T; t++) {
    const float p = static_cast<float>(pos[t]);
    for (int64_t i = 0; i < half; i++) {
      const float angle = p * invFreq[i];
      cosv[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sinv[i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
    for (int64_t h = 0; h < nHeads; h++) {
      float* v = x + (t * nHeads + h) * headDim;
      if (pairing == 0) {  // half-split: (x_i, x_{i+d/2})
        for (int64_t i = 0; i < half; i++) {
          const float a = v[i], b = v[i + half];
          v[i] = a * cosv[i] - b * sinv[i];
          v[i + half] = a * sinv[i] + b * cosv[i];
        }
      } else {  // interleaved: (x_{2i}, x_{2i+1})
        for (int64_t i = 0; i < half; i++) {
          const float a = v[2 * i], b = v[2 * i + 1];
          v[2 * i] = a * cosv[i] - b * sinv[i];
          v[2 * i + 1] = a * sinv[i] + b * cosv[i];
        }
      }
    }
  }
}

}  // namespace tsd
