#include "cpu.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tsd {

namespace {
struct Features {
  bool avx2 = false;
  bool avx512 = false;
  bool vnni = false;
  Features() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
    vnni = avx512 && __builtin_cpu_supports("avx512vnni");
#endif
  }
};
const Features& features() {
  static const Features f;  // thread-safe one-time initialisation
  return f;
}
std::atomic<int> g_isa{static_cast<int>(Isa::Scalar)};
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

void initIsa() {
  // The addon may be loaded by several worker threads; the environment is applied only once, so a
  // later load never undoes a runtime setIsa().
  static const bool once = setIsa(chooseAtLoad());
  (void)once;
}

}  // namespace tsd
