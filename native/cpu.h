// Runtime instruction-set selection. Detected once at load; TSDEPLOY_ISA=scalar|avx2|avx512 forces
// a supported path, and setIsa() switches it at runtime (used by the tests to cover every path).
#pragma once

namespace tsd {

enum class Isa : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

/** Detect CPU features and apply TSDEPLOY_ISA; called once from the addon's Init. */
void initIsa();
Isa currentIsa();
bool isaSupported(Isa isa);
Isa bestIsa();
const char* isaName(Isa isa);
/** Parse "scalar" | "avx2" | "avx512"; false for anything else. */
bool parseIsa(const char* name, Isa* out);
/** Switch the dispatch; false (no change) if the CPU does not support `isa`. */
bool setIsa(Isa isa);
/** AVX-512 VNNI (vpdpbusd), used by the AVX-512 integer matmul when present. */
bool hasAvx512Vnni();

// AMX tiles (TDPBSSD) for the many-token integer matmul: on by default where the CPU and the OS
// allow them (TSDEPLOY_AMX=0 turns them off); used only while the AVX-512 path is selected. They
// compute the same bits as the other paths (qmatmul.h), so switching never changes a result.
bool amxSupported();
bool amxEnabled();
/** false (no change) when enabling on a CPU/OS without AMX. */
bool setAmx(bool on);
/** amxEnabled() and the AVX-512 path selected. */
bool amxUsable();

}  // namespace tsd

// Function attributes for the SIMD variants. The build never uses -march flags: each SIMD
// function is compiled for its own target and only called after the runtime check.
#define TSD_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TSD_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define TSD_AVX512VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
