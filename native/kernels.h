// Entry points of the elementwise, normalisation and attention kernels (arguments already
// validated by addon.cc).
#pragma once
#include <cstdint>

namespace tsd {

// norm.cc
void rmsNorm(float* out, const float* x, const float* weight, int64_t T, int64_t n, double eps);

// rope.cc
void rope(float* x, int64_t T, int64_t nHeads, int64_t headDim, const int32_t* pos, const float* invFreq,
          int pairing);

// activation.cc
void swiglu(float* out, const float* gate, const float* up, int64_t n);
/** Q8_0 (type 8) or Q4_0 (type 2) blocks of x[0..n) (n a multiple of 32) into out. */
void quantizeRows(int type, const float* x, int64_t n, uint8_t* out);
/** x[i] += y[i] for i < n (the residual connection); exact float adds, any ISA. */
void add(float* x, const float* y, int64_t n);

// attention.cc: caches of f32 or IEEE f16 values (rounded to nearest even when stored)
void kvStore(float* kCache, float* vCache, const float* k, const float* v, int64_t T, int64_t kvWidth,
             const int32_t* slots);
void kvStore(uint16_t* kCache, uint16_t* vCache, const float* k, const float* v, int64_t T, int64_t kvWidth,
             const int32_t* slots);

struct AttentionArgs {
  float* out;
  const float* q;
  const void* kCache;  // float* or, when f16, uint16_t*
  const void* vCache;
  bool f16;
  int64_t T;
  int64_t nHeads;
  int64_t nKvHeads;
  int64_t headDim;
  float scale;
  const int32_t* tokenSeq;
  const int32_t* tokenPos;
  const int32_t* blockTables;
  int64_t maxBlocksPerSeq;
  int64_t blockSize;
};
void attention(const AttentionArgs& a);

// sampling.cc: one row of logits x[0..n)
/** Ids of the k largest values, best first, lower id first on ties, NaN last; returns min(k, n). */
int64_t topK(const float* x, int64_t n, int64_t k, int32_t* out);
/** log Σ e^{scale·x_i} (scale > 0): f32 exponentials of scale·(x_i − max), summed in f64. */
double logSumExp(const float* x, int64_t n, float scale);
/** The first i whose cumulative weight e^{scale·(x_i − max)} exceeds u · Σ weights (u in [0, 1)). */
int64_t sampleCategorical(const float* x, int64_t n, float scale, double u);

}  // namespace tsd
