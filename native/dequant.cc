// Scalar dequantisation of every supported ggml format (models.md §2.5) and the embedding lookup.
#include "dequant.h"

#include <algorithm>

#include "cpu.h"
#include "matmul.h"
#include "quant.h"
#include "threadpool.h"

namespace tsd {

namespace {

void deqQ4_0(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += 32) {
    const BlockQ4_0* b = reinterpret_cast<const BlockQ4_0*>(src) + i;
    const float d = loadF16(b->d);
    for (int j = 0; j < 16; j++) {
      y[j] = static_cast<float>((b->qs[j] & 0x0f) - 8) * d;
      y[j + 16] = static_cast<float>((b->qs[j] >> 4) - 8) * d;
    }
  }
}

void deqQ4_1(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += 32) {
    const BlockQ4_1* b = reinterpret_cast<const BlockQ4_1*>(src) + i;
    const float d = loadF16(b->d);
    const float m = loadF16(b->m);
    for (int j = 0; j < 16; j++) {
      y[j] = static_cast<float>(b->qs[j] & 0x0f) * d + m;
      y[j + 16] = static_cast<float>(b->qs[j] >> 4) * d + m;
    }
  }
}

void deqQ5_0(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += 32) {
    const BlockQ5_0* b = reinterpret_cast<const BlockQ5_0*>(src) + i;
    const float d = loadF16(b->d);
    const uint32_t qh = loadU32(b->qh);
    for (int j = 0; j < 16; j++) {
      const int q0 = (b->qs[j] & 0x0f) | (((qh >> j) & 1) << 4);
      const int q1 = (b->qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(q0 - 16) * d;
      y[j + 16] = static_cast<float>(q1 - 16) * d;
    }
  }
}

void deqQ5_1(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += 32) {
    const BlockQ5_1* b = reinterpret_cast<const BlockQ5_1*>(src) + i;
    const float d = loadF16(b->d);
    const float m = loadF16(b->m);
    const uint32_t qh = loadU32(b->qh);
    for (int j = 0; j < 16; j++) {
      const int q0 = (b->qs[j] & 0x0f) | (((qh >> j) & 1) << 4);
      const int q1 = (b->qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(q0) * d + m;
      y[j + 16] = static_cast<float>(q1) * d + m;
    }
  }
}

void deqQ8_0(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++, y += 32) {
    const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(src) + i;
    const float d = loadF16(b->d);
    for (int j = 0; j < 32; j++) y[j] = static_cast<float>(b->qs[j]) * d;
  }
}

void deqQ4_K(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++) {
    const BlockQ4_K* b = reinterpret_cast<const BlockQ4_K*>(src) + i;
    const float d = loadF16(b->d);
    const float dmin = loadF16(b->dmin);
    for (int c = 0; c < 4; c++, y += 64) {
      const uint8_t* qs = b->qs + 32 * c;
      int sc, m;
      scaleMinK4(2 * c, b->scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      scaleMinK4(2 * c + 1, b->scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; l++) {
        y[l] = d1 * static_cast<float>(qs[l] & 0x0f) - m1;
        y[l + 32] = d2 * static_cast<float>(qs[l] >> 4) - m2;
      }
    }
  }
}

void deqQ5_K(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++) {
    const BlockQ5_K* b = reinterpret_cast<const BlockQ5_K*>(src) + i;
    const float d = loadF16(b->d);
    const float dmin = loadF16(b->dmin);
    for (int c = 0; c < 4; c++, y += 64) {
      const uint8_t* qs = b->qs + 32 * c;
      int sc, m;
      scaleMinK4(2 * c, b->scales, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      scaleMinK4(2 * c + 1, b->scales, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; l++) {
        const int lo = (qs[l] & 0x0f) | (((b->qh[l] >> (2 * c)) & 1) << 4);
        const int hi = (qs[l] >> 4) | (((b->qh[l] >> (2 * c + 1)) & 1) << 4);
        y[l] = d1 * static_cast<float>(lo) - m1;
        y[l + 32] = d2 * static_cast<float>(hi) - m2;
      }
    }
  }
}

void deqQ6_K(const uint8_t* src, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; i++) {
    const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(src) + i;
    const float d = loadF16(b->d);
    for (int h = 0; h < 2; h++, y += 128) {
      const uint8_t* ql = b->ql + 64 * h;
      const uint8_t* qh = b->qh + 32 * h;
      const int8_t* sc = b->scales + 8 * h;
      for (int l = 0; l < 32; l++) {
        const int is = l / 16;
        const int q0 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q1 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q0);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q1);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q2);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q3);
      }
    }
  }
}

}  // namespace

void dequantizeRow(int type, const uint8_t* src, float* dst, int64_t cols) {
  switch (type) {
    case kF32: std::memcpy(dst, src, static_cast<size_t>(cols) * 4); break;
    case kF16:
      for (int64_t i = 0; i < cols; i++) dst[i] = f16ToF32(loadU16(src + 2 * i));
      break;
    case kBF16:
      for (int64_t i = 0; i < cols; i++) dst[i] = bf16ToF32(loadU16(src + 2 * i));
      break;
    case kQ4_0: deqQ4_0(src, dst, cols / 32); break;
    case kQ4_1: deqQ4_1(src, dst, cols / 32); break;
    case kQ5_0: deqQ5_0(src, dst, cols / 32); break;
    case kQ5_1: deqQ5_1(src, dst, cols / 32); break;
    case kQ8_0: deqQ8_0(src, dst, cols / 32); break;
    case kQ4_K: deqQ4_K(src, dst, cols / 256); break;
    case kQ5_K: deqQ5_K(src, dst, cols / 256); break;
    case kQ6_K: deqQ6_K(src, dst, cols / 256); break;
    default: break;  // callers validate the type
  }
}

void getRows(float* out, int type, int64_t cols, const uint8_t* data, const int32_t* ids, int64_t n) {
  const size_t rb = rowBytes(type, cols);
  auto deq = dequantizeRow;
  if (currentIsa() == Isa::Avx512) deq = dequantRowAvx512;
  else if (currentIsa() == Isa::Avx2) deq = dequantRowAvx2;
  // rows in chunks of ≈ 16K elements over the thread pool (prefill batches)
  const int64_t per = std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1));
  const int64_t chunks = (n + per - 1) / per;
  auto body = [&](int64_t c) {
    for (int64_t i = c * per; i < std::min(n, (c + 1) * per); i++) {
      deq(type, data + static_cast<size_t>(ids[i]) * rb, out + i * cols, cols);
    }
  };
  if (n * cols < (int64_t{1} << 16)) {
    for (int64_t c = 0; c < chunks; c++) body(c);
  } else {
    parallelFor(chunks, body);
  }
}

}  // namespace tsd
