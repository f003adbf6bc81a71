// Integer matmul for Q8_0 and Q4_0 weights: the activations are quantised once per call to int8
// blocks of 32 (per-block f32 scale), and each weight block meets them in an exact integer dot product.
//
// The numerics (the contract the TypeScript reference reproduces bit for bit, see reference.ts):
//
//  1. Activation row x, block k (elements 32k…32k+31): amax = max |x_i|, d = amax / 127 (f32),
//     id = d ≠ 0 ? 1 / d : 0, q_i = round-half-even(x_i · id) ∈ [−127, 127].
//  2. Weight block k: integer values w_i (Q8_0: qs_i; Q4_0: nibble − 8) and f16 scale dw.
//  3. Group j (0…7) of block k holds elements 4j…4j+3; P(k, j) = Σ w_i · q_i over the group (exact).
//  4. Sixteen f32 lane accumulators A, all +0 initially. For k = 0, 1, … in order and every j:
//       s = f32(dw_k · d_k);  A[L] = fma(f32(P(k, j)), s, A[L])
//     with the lane L(k, j) = 8·(k mod 2) + j for Q8_0 and 8·⌊j/4⌋ + 4·(k mod 2) + (j mod 4) for Q4_0
//     (the order in which the SIMD kernels hold two blocks in one 512-bit register).
//  5. y = hsum(A) with the fixed tree b_i = A_i + A_{i+8}, c_i = b_i + b_{i+4}, e_i = c_i + c_{i+2},
//     y = e_0 + e_1.
//
// The sum over a group is exact and the float steps are the same in every ISA variant, so the
// scalar, AVX2 and AVX-512 (VNNI) kernels agree bit for bit, and a token's result never depends on
// the batch, the tile it lands in or the thread count.
#pragma once
#include <cstdint>

namespace tsd {

/** Weight types that take the integer route. */
inline bool isIntMatmulType(int type) { return type == 8 /* Q8_0 */ || type == 2 /* Q4_0 */; }

/**
 * Quantised activations [T × cols] for one weight type. Blocks are padded to an even count nbp
 * (padding blocks: q = 0, d = 0, c = 0). Per token:
 *  q: nbp·32 int8, natural element order for Q8_0; for Q4_0 each block pair (k, k+1) is stored as
 *     x_k[0:16], x_{k+1}[0:16], x_k[16:32], x_{k+1}[16:32] (the order of the unpacked nibbles);
 *  d: nbp f32 block scales;
 *  c: nbp/2 × 16 int32, per block pair and lane the correction the unsigned-weight kernels add:
 *     −bias · Σ of the lane's four q (bias 128 for Q8_0 (weights offset by 128), 8 for Q4_0).
 */
struct QActs {
  int type = 0;
  int64_t T = 0, cols = 0, nb = 0, nbp = 0;
  int8_t* q = nullptr;
  float* d = nullptr;
  int32_t* c = nullptr;
  int64_t qStride() const { return nbp * 32; }
  int64_t cStride() const { return nbp * 8; }
};

/** Quantise tokens [t0, t1) of x (row stride cols) into a (same results on every ISA). */
void quantizeActs(const QActs& a, const float* x, int64_t t0, int64_t t1);
void quantizeActsAvx2(const QActs& a, const float* x, int64_t t0, int64_t t1);
void quantizeActsAvx512(const QActs& a, const float* x, int64_t t0, int64_t t1);

/**
 * y[t × ldy + r] for t < a.T, r < rows: the integer dot products of the quantised activations with
 * `rows` weight rows starting at w (row stride rowBytes(a.type, a.cols)).
 */
void qmatmulScalar(float* y, int64_t ldy, const QActs& a, int64_t rows, const uint8_t* w);
void qmatmulAvx2(float* y, int64_t ldy, const QActs& a, int64_t rows, const uint8_t* w);
void qmatmulAvx512(float* y, int64_t ldy, const QActs& a, int64_t rows, const uint8_t* w);

}  // namespace tsd
