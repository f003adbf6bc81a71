#include "cpu.h"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace tsd {

namespace {
struct Features {
  bool avx2 = false;
  bool avx512 = false;
  bool vnni = false;
  bool amx = false;
  Features() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
    vnni = avx512 && __builtin_cpu_supports("avx512vnni");
    amx = vnni && amxTilesGranted();
#endif
  }

 private:
  /**
   * AMX-TILE and AMX-INT8 in CPUID, tile state enabled in XCR0 by the OS, and (Linux ≥ 5.16) the
   * per-process permission to use the tile data, which the kernel grants on request.
   */
  static bool amxTilesGranted() {
#if defined(__x86_64__) && defined(__linux__)
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, nullptr) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    const bool tile = (d >> 24) & 1, int8 = (d >> 25) & 1;
    __cpuid(1, a, b, c, d);
    if (!tile || !int8 || !((c >> 27) & 1)) return false;  // OSXSAVE, needed for xgetbv
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return false;  // XTILECFG and XTILEDATA
    constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
    return false;
#endif
  }
};
const Features& features() {
  static const Features f;  // thread-safe one-time initialisation
  return f;
}
std::atomic<int> g_isa{static_cast<int>(Isa::Scalar)};
std::atomic<bool> g_amx{false};
}  // namespace

bool isaSupported(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return true;
    case Isa::Avx2: return features().avx2;
    case Isa::Avx512: return features().avx512;
  }
  return false;
}

bool hasAvx512Vnni() { return features().vnni; }

bool amxSupported() { return features().amx; }

bool amxEnabled() { return g_amx.load(std::memory_order_relaxed); }

bool setAmx(bool on) {
  if (on && !amxSupported()) return false;
  g_amx.store(on, std::memory_order_relaxed);
  return true;
}

bool amxUsable() { return amxEnabled() && currentIsa() == Isa::Avx512; }

Isa bestIsa() {
  if (isaSupported(Isa::Avx512)) return Isa::Avx512;
  if (isaSupported(Isa::Avx2)) return Isa::Avx2;
  return Isa::Scalar;
}

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

bool parseIsa(const char* name, Isa* out) {
  if (std::strcmp(name, "scalar") == 0) *out = Isa::Scalar;
  else if (std::strcmp(name, "avx2") == 0) *out = Isa::Avx2;
  else if (std::strcmp(name, "avx512") == 0) *out = Isa::Avx512;
  else return false;
  return true;
}

Isa currentIsa() { return static_cast<Isa>(g_isa.load(std::memory_order_relaxed)); }

bool setIsa(Isa isa) {
  if (!isaSupported(isa)) return false;
  g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
  return true;
}

static Isa chooseAtLoad() {
  Isa isa = bestIsa();
  const char* env = std::getenv("TSDEPLOY_ISA");
  if (env != nullptr && *env != '\0') {
    Isa wanted;
    if (!parseIsa(env, &wanted)) {
      std::fprintf(stderr, "tsdeploy: ignoring TSDEPLOY_ISA=%s (expected scalar, avx2 or avx512); using %s\n", env,
                   isaName(isa));
    } else if (!isaSupported(wanted)) {
      std::fprintf(stderr, "tsdeploy: TSDEPLOY_ISA=%s is not supported by this CPU; using %s\n", env, isaName(isa));
    } else {
      isa = wanted;
    }
  }
  return isa;
}

/** TSDEPLOY_AMX=0 keeps the AMX tiles unused (the AVX-512 kernels compute the same bits). */
static bool envDisablesAmx() {
  const char* env = std::getenv("TSDEPLOY_AMX");
  return env != nullptr && std::strcmp(env, "0") == 0;
}

void initIsa() {
  // The addon may be loaded by several worker threads; the environment is applied only once, so a
  // later load never undoes a runtime setIsa().
  static const bool once = setIsa(chooseAtLoad());
  static const bool amxOnce = setAmx(amxSupported() && !envDisablesAmx());
  (void)once;
  (void)amxOnce;
}

}  // namespace tsd
