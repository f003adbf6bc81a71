// The element-wise activations: the residual add and SwiGLU.
//
// SwiGLU: out = silu(gate) · up, silu(z) = z / (1 + e^{−z}). The scalar variant uses expf, the
// SIMD variants the polynomial exp of simd.h (a few ulp); everything else is the same float math.
#include <cmath>

#include "cpu.h"
#include "kernels.h"
#include "simd.h"

namespace tsd {

namespace {

void swigluScalar(float* out, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float g = gate[i];
    out[i] = (g / (1.0f + std::exp(-g))) * up[i];
  }
}

TSD_AVX2 void swigluAvx2(float* out, const float* gate, const float* up, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 neg = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = exp256(_mm256_xor_ps(g, neg));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
  }
  if (i < n) {
    const __m256i m = tailMask8(n - i);
    const __m256 g = _mm256_maskload_ps(gate + i, m);
    const __m256 e = exp256(_mm256_xor_ps(g, neg));
    _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_maskload_ps(up + i, m)));
  }
}

TSD_AVX512 void swigluAvx512(float* out, const float* gate, const float* up, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  int64_t i = 0;
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xffff) : tailMask16(n - i);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), g));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

TSD_AVX512 void addAvx512(float* x, const float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_add_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  for (; i < n; i++) x[i] += y[i];
}

}  // namespace

void add(float* x, const float* y, int64_t n) {
  if (currentIsa() == Isa::Avx512) return addAvx512(x, y, n);
  for (int64_t i = 0; i < n; i++) x[i] += y[i];  // the compiler vectorises this for the baseline ISA
}

void swiglu(float* out, const float* gate, const float* up, int64_t n) {
  switch (currentIsa()) {
    case Isa::Avx512: return swigluAvx512(out, gate, up, n);
    case Isa::Avx2: return swigluAvx2(out, gate, up, n);
    case Isa::Scalar: return swigluScalar(out, gate, up, n);
  }
}

}  // namespace tsd
