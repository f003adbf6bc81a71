// y[T × rows] = x[T × cols] · Wᵀ for a weight matrix W [rows × cols] in any supported ggml type.
//
// Block-format weights (Q8_0, Q4_0/1, Q5_0/1, Q4_K, Q5_K, Q6_K) take the integer route (qmatmul.h):
// weights packed once at load, activations quantised to int8 blocks once per call, exact integer
// block dot products. F32/F16/BF16 work on f32 activations and weights converted to f32 (exact
// conversion, see quant.h); each output element is one dot
// product whose summation order depends only on `cols` and the ISA (simd.h: 8 lanes for scalar and
// AVX2, 16 for AVX-512, columns in order, a fixed horizontal reduction).
//
// The rows are split into chunks run by the thread pool (threadpool.h). Tiling over tokens and rows
// and the split over threads only interleave independent dot products, so a token's outputs are
// bit-identical whatever the batch it is part of and however many threads run.
#pragma once
#include <cstdint>

namespace tsd {

/** Largest row panel any variant uses; the caller provides kMaxPanelRows rows of f32 scratch. */
constexpr int kMaxPanelRows = 8;

/** Up to this many tokens the SIMD variants convert weights on the fly instead of via scratch. */
constexpr int64_t kFusedMaxTokens = 4;

/** Minimum software-prefetch distance (bytes) when streaming weights. */
constexpr int64_t kPrefetchMin = 16384;

/** Scratch row stride: a multiple of 16 floats, so every scratch row is 64-byte aligned. */
inline int64_t scratchStride(int64_t cols) { return (cols + 15) / 16 * 16; }

/** Tokens per cache block: keeps a block of activations around 256 KiB (depends on cols only). */
inline int64_t tokenBlock(int64_t cols) {
  int64_t tb = (256 * 1024 / 4) / (cols > 0 ? cols : 1);
  if (tb < 8) tb = 8;
  if (tb > 256) tb = 256;
  return tb;
}

/**
 * `packed` (may be null): for Q8_0/Q4_0, the weights in the layout of packWeights, which the
 * integer kernels read; without it they are packed into scratch on every call (correct, slower).
 */
void matmul(float* y, const float* x, int64_t T, int type, int64_t rows, int64_t cols, const uint8_t* w,
            const uint8_t* packed);

/** Bytes of the packed form of Q8_0/Q4_0 weights [rows × cols] (qmatmul.h, QPackLayout). */
int64_t packedWeightBytes(int type, int64_t rows, int64_t cols);
/** Pack natural-layout Q8_0/Q4_0 weights into dst (packedWeightBytes bytes, 64-byte aligned). */
void packWeights(int type, int64_t rows, int64_t cols, const uint8_t* w, uint8_t* dst);

// Float-activation SIMD variants over `rows` rows starting at w, writing y[t × ldy + r]; scratch is
// 64-byte aligned with kMaxPanelRows rows of `scratchStride` floats (AVX2; AVX-512 keeps its own).
void matmulAvx2(float* y, int64_t ldy, const float* x, int64_t T, int type, int64_t rows, int64_t cols,
                const uint8_t* w, float* scratch, int64_t scratchStride);
void matmulAvx512(float* y, int64_t ldy, const float* x, int64_t T, int type, int64_t rows, int64_t cols,
                  const uint8_t* w, float* scratch, int64_t scratchStride);

/** Per-ISA row dequantisation (bit-identical to the scalar dequantizeRow), used by getRows. */
void dequantRowAvx2(int type, const uint8_t* src, float* dst, int64_t cols);
void dequantRowAvx512(int type, const uint8_t* src, float* dst, int64_t cols);

}  // namespace tsd
