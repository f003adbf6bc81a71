#pragma once
#include <napi.h>
Napi::Value MapFile(const Napi::CallbackInfo& info);
