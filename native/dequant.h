#pragma once
#include <cstdint>

namespace tsd {
/** out[i × cols …] = dequantised row ids[i] (ids already validated against the row count). */
void getRows(float* out, int type, int64_t cols, const uint8_t* data, const int32_t* ids, int64_t n);
}  // namespace tsd
