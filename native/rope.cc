// Rotary position embedding, both pairings (models.md §1.8). angle = pos · invFreq[i] in float32
// (as HF does); cos/sin are evaluated in double and rounded to float; the rotation is in float.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"

namespace tsd {

namespace {

/**
 * cos/sin of pos · invFreq[i] per position, kept across calls: every layer rotates q and k at the
 * same positions, so each value is computed once per position instead of 2 × layers times. The
 * table belongs to one thread and is rebuilt when invFreq changes; its values are exactly those
 * computed on the fly.
 */
struct RopeTable {
  std::vector<float> invFreq;
  std::vector<float> cs;  // per position: half cosines, then half sines
  int64_t half = 0, positions = 0;

  const float* row(int64_t pos, const float* freq, int64_t h) {
    if (h != half || std::memcmp(invFreq.data(), freq, static_cast<size_t>(h) * sizeof(float)) != 0) {
      invFreq.assign(freq, freq + h);
      half = h;
      positions = 0;
      cs.clear();
    }
    if (pos >= positions) {
      const int64_t want = std::max<int64_t>(pos + 1, std::min<int64_t>(2 * positions, pos + 4096));
      cs.resize(static_cast<size_t>(want * 2 * half));
      for (int64_t p = positions; p < want; p++) {
        float* c = cs.data() + p * 2 * half;
        for (int64_t i = 0; i < half; i++) {
          const float angle = static_cast<float>(p) * invFreq[static_cast<size_t>(i)];
          c[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
          c[half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
        }
      }
      positions = want;
    }
    return cs.data() + pos * 2 * half;
  }
};

}  // namespace

void rope(float* x, int64_t T, int64_t nHeads, int64_t headDim, const int32_t* pos, const float* invFreq,
          int pairing) {
  const int64_t half = headDim / 2;
  thread_local RopeTable table;
  for (int64_t t = 0; t < T; t++) {
    const float* cosv = table.row(pos[t], invFreq, half);
    const float* sinv = cosv + half;
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
