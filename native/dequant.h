#pragma once
#include <cstdint>

namespace tsd {
/** out[i × cols …] = dequantised row ids[i] (ids already validated against the row count). */
void getRows(float* out, int type, int64_t cols, const uint8_t* data, const int32_t* ids, int64_t n);

/**
 * AVX2 dequantisation of Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K rows, bit-identical to dequantizeRow;
 * false (nothing written) for other types. Only call when the CPU supports AVX2.
 */
bool dequantizeRowAvx2(int type, const uint8_t* src, float* dst, int64_t cols);
}  // namespace tsd
