// Read-only memory mapping of model files, exposed to JS as an external ArrayBuffer.
// The mapping is released when the ArrayBuffer is garbage-collected.
//
// releasePages lets the loader give back the pages of weights it has copied elsewhere (the packed
// layout of the integer kernels): the mapping is private and read-only, so madvise(MADV_DONTNEED)
// only drops clean file pages, and a later read simply faults them in again. It refuses anything
// that is not inside one of our live file mappings (on heap memory it would zero the data).
#include "mmap.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

struct Mapping {
  uintptr_t base;
  size_t size;
};
std::mutex g_mappingsMutex;
std::vector<Mapping> g_mappings;

void addMapping(void* p, size_t size) {
  std::lock_guard<std::mutex> lock(g_mappingsMutex);
  g_mappings.push_back({reinterpret_cast<uintptr_t>(p), size});
}

void removeMapping(void* p) {
  std::lock_guard<std::mutex> lock(g_mappingsMutex);
  for (size_t i = 0; i < g_mappings.size(); i++) {
    if (g_mappings[i].base == reinterpret_cast<uintptr_t>(p)) {
      g_mappings.erase(g_mappings.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
}

bool insideMapping(uintptr_t from, uintptr_t to) {
  std::lock_guard<std::mutex> lock(g_mappingsMutex);
  for (const Mapping& m : g_mappings) {
    if (from >= m.base && to <= m.base + m.size) return true;
  }
  return false;
}

}  // namespace

Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "mapFile(path: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>();
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    Napi::Error::New(env, "mapFile: cannot open " + path + ": " + strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    Napi::Error::New(env, "mapFile: cannot stat " + path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    close(fd);
    return Napi::ArrayBuffer::New(env, 0);
  }
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    Napi::Error::New(env, "mapFile: mmap failed for " + path + ": " + strerror(errno)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  addMapping(p, size);
  return Napi::ArrayBuffer::New(
      env, p, size,
      [](Napi::Env, void* data, size_t* len) {
        removeMapping(data);
        munmap(data, *len);
        delete len;
      },
      new size_t(size));
}

Napi::Value ReleasePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "releasePages(bytes: Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  const uintptr_t from = reinterpret_cast<uintptr_t>(bytes.Data());
  const uintptr_t to = from + bytes.ByteLength();
  if (bytes.ByteLength() == 0 || !insideMapping(from, to)) return Napi::Boolean::New(env, false);
  // whole pages inside the view only: neighbouring tensors may share its first and last page
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t a = (from + page - 1) / page * page, b = to / page * page;
  if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_DONTNEED);
  return Napi::Boolean::New(env, true);
}
