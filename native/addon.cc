#include <napi.h>

#include "mmap.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mapFile", Napi::Function::New(env, MapFile));
  return exports;
}
NODE_API_MODULE(tsdeploy_native, Init)
