#pragma once
#include <napi.h>
Napi::Value MapFile(const Napi::CallbackInfo& info);
/** releasePages(bytes): drop the resident pages of a view into a file mapping (see mmap.cc). */
Napi::Value ReleasePages(const Napi::CallbackInfo& info);
