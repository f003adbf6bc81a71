// ggml weight block formats (models.md §2.5) and the scalar conversions every kernel shares.
// All block structs have alignment 1 (only byte members) so they can sit at any address, e.g.
// inside a memory-mapped file; multi-byte fields are read with memcpy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tsd {

enum GgmlType : int {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kBF16 = 30,
};

struct BlockQ4_0 { uint8_t d[2]; uint8_t qs[16]; };
struct BlockQ4_1 { uint8_t d[2]; uint8_t m[2]; uint8_t qs[16]; };
struct BlockQ5_0 { uint8_t d[2]; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ5_1 { uint8_t d[2]; uint8_t m[2]; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ8_0 { uint8_t d[2]; int8_t qs[32]; };
struct BlockQ4_K { uint8_t d[2]; uint8_t dmin[2]; uint8_t scales[12]; uint8_t qs[128]; };
struct BlockQ5_K { uint8_t d[2]; uint8_t dmin[2]; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct BlockQ6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint8_t d[2]; };

static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block");
static_assert(sizeof(BlockQ4_1) == 20, "Q4_1 block");
static_assert(sizeof(BlockQ5_0) == 22, "Q5_0 block");
static_assert(sizeof(BlockQ5_1) == 24, "Q5_1 block");
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block");
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block");
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block");
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block");

/** Elements and bytes per block of a type; false for types the kernels do not support. */
inline bool typeBlock(int type, int* elems, int* bytes) {
  switch (type) {
    case kF32: *elems = 1; *bytes = 4; return true;
    case kF16: *elems = 1; *bytes = 2; return true;
    case kBF16: *elems = 1; *bytes = 2; return true;
    case kQ4_0: *elems = 32; *bytes = sizeof(BlockQ4_0); return true;
    case kQ4_1: *elems = 32; *bytes = sizeof(BlockQ4_1); return true;
    case kQ5_0: *elems = 32; *bytes = sizeof(BlockQ5_0); return true;
    case kQ5_1: *elems = 32; *bytes = sizeof(BlockQ5_1); return true;
    case kQ8_0: *elems = 32; *bytes = sizeof(BlockQ8_0); return true;
    case kQ4_K: *elems = 256; *bytes = sizeof(BlockQ4_K); return true;
    case kQ5_K: *elems = 256; *bytes = sizeof(BlockQ5_K); return true;
    case kQ6_K: *elems = 256; *bytes = sizeof(BlockQ6_K); return true;
    default: return false;
  }
}

/** Bytes of one row of `cols` elements (cols must be a multiple of the block size). */
inline size_t rowBytes(int type, int64_t cols) {
  int elems = 1, bytes = 0;
  if (!typeBlock(type, &elems, &bytes)) return 0;
  return static_cast<size_t>(cols / elems) * static_cast<size_t>(bytes);
}

inline uint16_t loadU16(const void* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t loadU32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline float bitsToF32(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/**
 * IEEE half → float (exact, incl. subnormals, inf, NaN). The magnitude bits shifted into float
 * position read as a float 2^-112 times too small (for subnormal halves too), so one multiply by
 * 2^112 rebiases the exponent; only inf/NaN need their exponent set explicitly.
 */
inline float f16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t mag = static_cast<uint32_t>(h & 0x7fffu) << 13;
  if ((h & 0x7c00u) == 0x7c00u) return bitsToF32(sign | 0x7f800000u | mag);
  uint32_t bits;
  const float f = bitsToF32(mag) * 0x1p112f;
  std::memcpy(&bits, &f, 4);
  return bitsToF32(bits | sign);
}

/** float → IEEE half, round to nearest even (as F16C's vcvtps2ph; NaN stays a quiet NaN). */
inline uint16_t f32ToF16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  const uint32_t sign = (b >> 16) & 0x8000u;
  const uint32_t exp = (b >> 23) & 0xffu;
  uint32_t mant = b & 0x7fffffu;
  if (exp == 0xffu) return static_cast<uint16_t>(sign | 0x7c00u | (mant != 0 ? 0x200u | (mant >> 13) : 0u));
  const int e = static_cast<int>(exp) - 112;  // rebias 127 → 15
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);  // below half the smallest subnormal
    mant |= 0x800000u;
    const int shift = 14 - e;
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u) != 0)) h++;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0)) h++;  // a carry into the exponent is correct
  return static_cast<uint16_t>(sign | h);
}

/** bfloat16 → float: the upper 16 bits of an f32. */
inline float bf16ToF32(uint16_t h) { return bitsToF32(static_cast<uint32_t>(h) << 16); }

inline float loadF16(const uint8_t* p) { return f16ToF32(loadU16(p)); }

/** Q4_K/Q5_K: 6-bit scale and min of sub-block j (0…7) from the packed scales[12]. */
inline void scaleMinK4(int j, const uint8_t* s, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

/**
 * Dequantise one row of `cols` elements (a whole number of blocks) to f32. Every value is the
 * result of the same few float operations in every code path, so dequantisation is bit-exact
 * across ISAs and matches the TypeScript reference exactly.
 */
void dequantizeRow(int type, const uint8_t* src, float* dst, int64_t cols);

}  // namespace tsd
