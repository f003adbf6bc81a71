// Integer matmul for Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K weights: the activations are quantised once per call to int8
// blocks of 32 (per-block f32 scale), and each weight block meets them in an exact integer dot product.
//
// The numerics (the contract the TypeScript reference reproduces bit for bit, see reference.ts):
//
//  1. Activation row x, block k (elements 32k…32k+31): amax = max |x_i|, d_k = amax / 127 (f32),
//     id = d_k ≠ 0 ? 1 / d_k : 0, q_i = round-half-even(x_i · id) ∈ [−127, 127].
//  2. Weight block k: integer values w_i (Q8_0: qs_i; Q4_0: nibble − 8) and f16 scale dw_k.
//  3. P_k = Σ_{i<32} w_i · q_i, exact in int32.
//  4. acc = +0; for k = 0, 1, … in order: acc = fma(f32(P_k), f32(dw_k · d_k), acc). y = acc.
//
// Q4_K / Q5_K: block k is sub-block j = k mod 8 of a 256-element super-block (d, dmin, 6-bit sc_j,
// m_j), w_i = A_k·u_i − B_k with u_i the 4-bit (5-bit) value, A_k = f32(d)·sc_j and B_k = f32(dmin)·m_j (both exact
// in f32). Then P_k = Σ u_i · q_i, S_k = Σ q_i, and per block
//     acc = fma(f32(P_k), f32(A_k · d_k), acc);  acc = fma(f32(−S_k), f32(B_k · d_k), acc).
//
// The older formats map onto these when packed: Q5_0 (w = u − 16, scale d) is Q8_0's contract;
// Q4_1 and Q5_1 (w = d·u + m) are Q4_K's and Q5_K's with A_k = d and B_k = −m.
//
// Q6_K: block k has two halves of 16 elements with their own scales s_kh = f32(d)·sc (exact),
// w_i = u_i − 32; P_kh = Σ_{i ∈ half h} w_i · q_i, and per block
//     acc = fma(f32(P_k0), f32(s_k0 · d_k), acc);  acc = fma(f32(P_k1), f32(s_k1 · d_k), acc).
//
// One exact integer per block and one float chain per output in block order: every variant (scalar,
// AVX2, AVX-512 VNNI, AMX tiles) computes the same bits, so a token's result never depends on the
// batch it is part of, the tile it lands in, the thread count or the ISA. (AMX produces the block
// sums P_k of 16 tokens × 16 rows per tile instruction; the float chain then runs per element.)
//
// The kernels read weights in a packed, row-interleaved layout (packQWeights, made once at load):
// per panel of 16 rows, per block k, the quads (4 consecutive elements) of all 16 rows side by side,
// which is both the B operand of an AMX tile multiply and a 16-row vpdpbusd operand.
#pragma once
#include <cstdint>

namespace tsd {

/** Weight types that take the integer route. */
inline bool isIntMatmulType(int type) {
  return type == 8 /* Q8_0 */ || type == 2 /* Q4_0 */ || type == 3 /* Q4_1 */ || type == 6 /* Q5_0 */ ||
         type == 7 /* Q5_1 */ || type == 12 /* Q4_K */ || type == 13 /* Q5_K */ || type == 14 /* Q6_K */;
}

/**
 * The packed layout (and kernel) a type uses: Q5_0 → Q8_0 (int8 w, f16 d), Q4_1 → Q4_K (nibbles,
 * f32 A = d and B = −m), Q5_1 → Q5_K (bytes u, f32 A, B); the others their own.
 */
inline int packedKind(int type) { return type == 6 ? 8 : type == 3 ? 12 : type == 7 ? 13 : type; }

/** The bias b of QActs::c = −b·Σq for a weight type (Q4_K: 1, so c = −Σq). */
inline int quantBias(int type) { return type == 8 ? 128 : type == 2 ? 8 : 1; }

/** Rows per packed panel. */
constexpr int64_t kPanelRows = 16;

/**
 * Packed Q8_0 / Q4_0 weights [rows × cols] (rows padded to a multiple of 16 with zero rows).
 * Panel p starts at p · panelStride bytes (64-byte aligned when the buffer is):
 *   quants: nb blocks of quantBytes; scales: nb × 16 f16 (block-major, row-minor).
 *   Q8_0 block (512 B): byte 64·j + 4·r + b = w[r][4j + b] (int8), quads j = 0…7.
 *   Q4_0 block (256 B): byte 64·j + 4·r + b = qs[4j + b] of row r (j = 0…3): its low nibble is
 *     element 4j + b (quad j), its high nibble element 16 + 4j + b (quad j + 4), both w + 8.
 *   Q4_K block (256 B): the nibbles u of the block in the Q4_0 arrangement.
 *   Q5_K block (512 B): u (0…31) as bytes, laid out as Q8_0's.
 *   Q6_K block (512 B): w = u − 32 as int8, laid out as Q8_0's (quads 0–3: half 0, 4–7: half 1).
 *   Scales per block: Q8_0/Q4_0 16 f16 dw (32 B); Q4_K/Q5_K 16 f32 A_k, then 16 f32 B_k (128 B);
 *   Q6_K 16 f32 s_k0, then 16 f32 s_k1 (128 B).
 */
struct QPackLayout {
  int type = 0;  // the weights' own format
  int kind = 0;  // the packed layout: packedKind(type)
  int64_t rows = 0, cols = 0, nb = 0, panels = 0, quantBytes = 0, scaleBytes = 0, panelStride = 0;
  QPackLayout(int type, int64_t rows, int64_t cols);
  int64_t bytes() const { return panels * panelStride; }
  int64_t scaleOffset() const { return nb * quantBytes; }
};

/** Pack `rows` rows of natural-layout weights w into dst (layout.bytes() bytes). */
void packQWeights(const QPackLayout& layout, const uint8_t* w, uint8_t* dst);

/**
 * Quantised activations [T × cols] (step 1 of the contract) for a packed kind, rows padded to Tp = a multiple of
 * 16 with zeros (q = 0, d = 0) so that tile kernels can read whole 16-token tiles:
 *  q: per token nb·32 int8 in natural order; d: per token nb f32 scales;
 *  c: per token nb int32, −bias·Σq over the block (bias 128 for Q8_0, 8 for Q4_0): the correction the
 *     unsigned-weight kernels add after multiplying w + bias by q; Q4_K: −Σq (its min term's factor).
 */
struct QActs {
  int type = 0;
  int64_t T = 0, Tp = 0, cols = 0, nb = 0;
  int8_t* q = nullptr;
  float* d = nullptr;
  int32_t* c = nullptr;
  int64_t qStride() const { return nb * 32; }
};

/** Quantise tokens [t0, t1) of x (row stride cols) into a (same results on every ISA). */
void quantizeActs(const QActs& a, const float* x, int64_t t0, int64_t t1);
void quantizeActsAvx2(const QActs& a, const float* x, int64_t t0, int64_t t1);
void quantizeActsAvx512(const QActs& a, const float* x, int64_t t0, int64_t t1);

/**
 * y[t × ldy + r] for t < a.T, r < 16 · panels (rows beyond the matrix are not written): the
 * integer dot products of the quantised activations with `panels` packed panels starting at pk
 * (layout L). Each variant computes the contract's bits.
 */
void qmatmulScalar(float* y, int64_t ldy, const QActs& a, const QPackLayout& L, int64_t panel0, int64_t panels,
                   const uint8_t* pk);
void qmatmulAvx2(float* y, int64_t ldy, const QActs& a, const QPackLayout& L, int64_t panel0, int64_t panels,
                 const uint8_t* pk);
void qmatmulAvx512(float* y, int64_t ldy, const QActs& a, const QPackLayout& L, int64_t panel0, int64_t panels,
                   const uint8_t* pk);
/** AMX tiles for the block sums (callers check amxUsable()); tokens in tiles of 16. */
void qmatmulAmx(float* y, int64_t ldy, const QActs& a, const QPackLayout& L, int64_t panel0, int64_t panels,
                const uint8_t* pk);

}  // namespace tsd
