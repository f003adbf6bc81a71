// N-API registration of the kernels. Every entry point checks argument types, sizes and index
// ranges before touching memory (a wrong size would otherwise corrupt the heap); the TypeScript
// wrapper (src/native/index.ts) repeats the size checks with friendlier messages.
#include <napi.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "cpu.h"
#include "dequant.h"
#include "kernels.h"
#include "matmul.h"
#include "qmatmul.h"
#include "mmap.h"
#include "quant.h"
#include "threadpool.h"

namespace {

using tsd::Isa;

// ---- argument helpers: each throws a JS exception and returns false on failure ----------------

bool fail(const Napi::Env& env, const char* fn, const std::string& msg) {
  Napi::RangeError::New(env, std::string(fn) + ": " + msg).ThrowAsJavaScriptException();
  return false;
}

template <typename T>
struct ArrayArg {
  T* data = nullptr;
  int64_t length = 0;
};

template <typename T>
bool typedArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, napi_typedarray_type kind,
              const char* kindName, ArrayArg<T>* out) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kind) {
    Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be a " + kindName)
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::TypedArrayOf<T> a = v.As<Napi::TypedArrayOf<T>>();
  out->data = a.Data();
  out->length = static_cast<int64_t>(a.ElementLength());
  return true;
}

bool f32Arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, ArrayArg<float>* out) {
  return typedArg(info, i, fn, name, napi_float32_array, "Float32Array", out);
}
bool i32Arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, ArrayArg<int32_t>* out) {
  return typedArg(info, i, fn, name, napi_int32_array, "Int32Array", out);
}
bool u8Arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, ArrayArg<uint8_t>* out) {
  return typedArg(info, i, fn, name, napi_uint8_array, "Uint8Array", out);
}

/** A KV cache: Float32Array (f32) or Uint16Array (IEEE f16 bits). */
struct CacheArg {
  void* data = nullptr;
  int64_t length = 0;
  bool f16 = false;
};

bool cacheArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, CacheArg* out) {
  Napi::Value v = info[i];
  const bool isTyped = v.IsTypedArray();
  const napi_typedarray_type kind = isTyped ? v.As<Napi::TypedArray>().TypedArrayType() : napi_int8_array;
  if (kind == napi_float32_array) {
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    *out = CacheArg{a.Data(), static_cast<int64_t>(a.ElementLength()), false};
    return true;
  }
  if (kind == napi_uint16_array) {
    Napi::Uint16Array a = v.As<Napi::Uint16Array>();
    *out = CacheArg{a.Data(), static_cast<int64_t>(a.ElementLength()), true};
    return true;
  }
  Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be a Float32Array or a Uint16Array (f16)")
      .ThrowAsJavaScriptException();
  return false;
}

/** Both caches of one layer, of the same element type. */
bool cachePair(const Napi::CallbackInfo& info, size_t i, const char* fn, CacheArg* k, CacheArg* v) {
  if (!cacheArg(info, i, fn, "kCache", k) || !cacheArg(info, i + 1, fn, "vCache", v)) return false;
  if (k->f16 != v->f16) {
    Napi::TypeError::New(info.Env(), std::string(fn) + ": kCache and vCache must have the same element type")
        .ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

/** An integer in [lo, hi]. */
bool intArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t lo, int64_t hi,
            int64_t* out) {
  Napi::Value v = info[i];
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : std::nan("");
  if (!(d == std::floor(d)) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    return fail(info.Env(), fn, std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " +
                                    std::to_string(hi) + "]");
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool numArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, double* out) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) return fail(info.Env(), fn, std::string(name) + " must be a number");
  *out = v.As<Napi::Number>().DoubleValue();
  return true;
}

bool atLeast(const Napi::Env& env, const char* fn, const char* name, int64_t have, int64_t need) {
  if (have >= need) return true;
  return fail(env, fn, std::string(name) + " has " + std::to_string(have) + " elements, needs at least " +
                           std::to_string(need));
}

constexpr int64_t kMaxDim = 0x7fffffff;  // every dimension fits an int32 (products are computed in int64)

/** Validated weight matrix (type, rows, cols, data) at argument positions i…i+3. */
struct Weight {
  int type = 0;
  int64_t rows = 0, cols = 0;
  const uint8_t* data = nullptr;
};

bool weightArg(const Napi::CallbackInfo& info, size_t i, const char* fn, Weight* w) {
  int64_t type;
  ArrayArg<uint8_t> data;
  if (!intArg(info, i, fn, "w.type", 0, 1000, &type) || !intArg(info, i + 1, fn, "w.rows", 0, kMaxDim, &w->rows) ||
      !intArg(info, i + 2, fn, "w.cols", 0, kMaxDim, &w->cols) || !u8Arg(info, i + 3, fn, "w.data", &data)) {
    return false;
  }
  int elems = 0, bytes = 0;
  if (!tsd::typeBlock(static_cast<int>(type), &elems, &bytes)) {
    return fail(info.Env(), fn, "unsupported ggml type " + std::to_string(type));
  }
  if (w->cols % elems != 0) {
    return fail(info.Env(), fn,
                "w.cols = " + std::to_string(w->cols) + " is not a multiple of the block size " + std::to_string(elems));
  }
  const int64_t need = w->rows * static_cast<int64_t>(tsd::rowBytes(static_cast<int>(type), w->cols));
  if (data.length < need) {
    return fail(info.Env(), fn,
                "w.data has " + std::to_string(data.length) + " bytes, needs " + std::to_string(need));
  }
  w->type = static_cast<int>(type);
  w->data = data.data;
  return true;
}

// ---- kernels ----------------------------------------------------------------------------------

// matmul(y, x, T, type, rows, cols, data, packed?)
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const char* fn = "matmul";
  Napi::Env env = info.Env();
  ArrayArg<float> y, x;
  int64_t T;
  Weight w;
  if (!f32Arg(info, 0, fn, "y", &y) || !f32Arg(info, 1, fn, "x", &x) || !intArg(info, 2, fn, "T", 0, kMaxDim, &T) ||
      !weightArg(info, 3, fn, &w) || !atLeast(env, fn, "y", y.length, T * w.rows) ||
      !atLeast(env, fn, "x", x.length, T * w.cols)) {
    return env.Undefined();
  }
  const uint8_t* packed = nullptr;
  if (info.Length() > 7 && !info[7].IsUndefined() && !info[7].IsNull()) {
    ArrayArg<uint8_t> pk;
    if (!u8Arg(info, 7, fn, "w.packed", &pk)) return env.Undefined();
    if (!tsd::isIntMatmulType(w.type) || pk.length != tsd::packedWeightBytes(w.type, w.rows, w.cols) ||
        reinterpret_cast<uintptr_t>(pk.data) % 64 != 0) {
      fail(env, fn, "w.packed is not the packWeights result for this weight");
      return env.Undefined();
    }
    packed = pk.data;
  }
  tsd::matmul(y.data, x.data, T, w.type, w.rows, w.cols, w.data, packed);
  return env.Undefined();
}

// packWeights(type, rows, cols, data) → ArrayBuffer (64-byte aligned) with the packed Q8_0/Q4_0 layout
Napi::Value PackWeights(const Napi::CallbackInfo& info) {
  const char* fn = "packWeights";
  Napi::Env env = info.Env();
  Weight w;
  if (!weightArg(info, 0, fn, &w)) return env.Undefined();
  if (!tsd::isIntMatmulType(w.type)) {
    fail(env, fn, "only Q8_0 and Q4_0 weights are packed (type " + std::to_string(w.type) + ")");
    return env.Undefined();
  }
  const size_t bytes = static_cast<size_t>(tsd::packedWeightBytes(w.type, w.rows, w.cols));
  void* mem = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
  if (mem == nullptr) {
    fail(env, fn, "out of memory (" + std::to_string(bytes) + " bytes)");
    return env.Undefined();
  }
  tsd::packWeights(w.type, w.rows, w.cols, w.data, static_cast<uint8_t*>(mem));
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  return Napi::ArrayBuffer::New(env, mem, bytes, [](Napi::Env e, void* p, size_t* n) {
    Napi::MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>(*n));
    std::free(p);
    delete n;
  }, new size_t(bytes));
}

// getRows(out, type, rows, cols, data, ids)
Napi::Value GetRows(const Napi::CallbackInfo& info) {
  const char* fn = "getRows";
  Napi::Env env = info.Env();
  ArrayArg<float> out;
  Weight w;
  ArrayArg<int32_t> ids;
  if (!f32Arg(info, 0, fn, "out", &out) || !weightArg(info, 1, fn, &w) || !i32Arg(info, 5, fn, "ids", &ids) ||
      !atLeast(env, fn, "out", out.length, ids.length * w.cols)) {
    return env.Undefined();
  }
  for (int64_t i = 0; i < ids.length; i++) {
    if (ids.data[i] < 0 || ids.data[i] >= w.rows) {
      fail(env, fn, "ids[" + std::to_string(i) + "] = " + std::to_string(ids.data[i]) + " is outside [0, " +
                        std::to_string(w.rows) + ")");
      return env.Undefined();
    }
  }
  tsd::getRows(out.data, w.type, w.cols, w.data, ids.data, ids.length);
  return env.Undefined();
}

// rmsNorm(out, x, weight, T, n, eps)
Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  const char* fn = "rmsNorm";
  Napi::Env env = info.Env();
  ArrayArg<float> out, x, weight;
  int64_t T, n;
  double eps;
  if (!f32Arg(info, 0, fn, "out", &out) || !f32Arg(info, 1, fn, "x", &x) || !f32Arg(info, 2, fn, "weight", &weight) ||
      !intArg(info, 3, fn, "T", 0, kMaxDim, &T) || !intArg(info, 4, fn, "n", 1, kMaxDim, &n) ||
      !numArg(info, 5, fn, "eps", &eps) || !atLeast(env, fn, "out", out.length, T * n) ||
      !atLeast(env, fn, "x", x.length, T * n) || !atLeast(env, fn, "weight", weight.length, n)) {
    return env.Undefined();
  }
  tsd::rmsNorm(out.data, x.data, weight.data, T, n, eps);
  return env.Undefined();
}

// rope(x, T, nHeads, headDim, pos, invFreq, pairing)
Napi::Value Rope(const Napi::CallbackInfo& info) {
  const char* fn = "rope";
  Napi::Env env = info.Env();
  ArrayArg<float> x, invFreq;
  ArrayArg<int32_t> pos;
  int64_t T, nHeads, hd, pairing;
  if (!f32Arg(info, 0, fn, "x", &x) || !intArg(info, 1, fn, "T", 0, kMaxDim, &T) ||
      !intArg(info, 2, fn, "nHeads", 0, kMaxDim, &nHeads) || !intArg(info, 3, fn, "headDim", 0, kMaxDim, &hd) ||
      !i32Arg(info, 4, fn, "pos", &pos) || !f32Arg(info, 5, fn, "invFreq", &invFreq) ||
      !intArg(info, 6, fn, "pairing", 0, 1, &pairing) || !atLeast(env, fn, "x", x.length, T * nHeads * hd) ||
      !atLeast(env, fn, "pos", pos.length, T) || !atLeast(env, fn, "invFreq", invFreq.length, hd / 2)) {
    return env.Undefined();
  }
  if (hd % 2 != 0) {
    fail(env, fn, "headDim must be even");
    return env.Undefined();
  }
  tsd::rope(x.data, T, nHeads, hd, pos.data, invFreq.data, static_cast<int>(pairing));
  return env.Undefined();
}

// swiglu(out, gate, up, n)
Napi::Value Swiglu(const Napi::CallbackInfo& info) {
  const char* fn = "swiglu";
  Napi::Env env = info.Env();
  ArrayArg<float> out, gate, up;
  int64_t n;
  if (!f32Arg(info, 0, fn, "out", &out) || !f32Arg(info, 1, fn, "gate", &gate) || !f32Arg(info, 2, fn, "up", &up) ||
      !intArg(info, 3, fn, "n", 0, INT64_C(1) << 50, &n) || !atLeast(env, fn, "out", out.length, n) ||
      !atLeast(env, fn, "gate", gate.length, n) || !atLeast(env, fn, "up", up.length, n)) {
    return env.Undefined();
  }
  tsd::swiglu(out.data, gate.data, up.data, n);
  return env.Undefined();
}

// quantizeRows(type, x, out): Q8_0 / Q4_0 blocks of x
Napi::Value QuantizeRows(const Napi::CallbackInfo& info) {
  const char* fn = "quantizeRows";
  Napi::Env env = info.Env();
  int64_t type;
  ArrayArg<float> x;
  ArrayArg<uint8_t> out;
  if (!intArg(info, 0, fn, "type", 0, 1000, &type) || !f32Arg(info, 1, fn, "x", &x) || !u8Arg(info, 2, fn, "out", &out)) {
    return env.Undefined();
  }
  if (type != tsd::kQ8_0 && type != tsd::kQ4_0) {
    fail(env, fn, "type must be Q8_0 (8) or Q4_0 (2), got " + std::to_string(type));
    return env.Undefined();
  }
  if (x.length % 32 != 0) {
    fail(env, fn, "x has " + std::to_string(x.length) + " values, not a multiple of 32");
    return env.Undefined();
  }
  const int64_t need = x.length / 32 * (type == tsd::kQ8_0 ? 34 : 18);
  if (!atLeast(env, fn, "out", out.length, need)) return env.Undefined();
  tsd::quantizeRows(static_cast<int>(type), x.data, x.length, out.data);
  return env.Undefined();
}

// add(x, y, n): x[i] += y[i]
Napi::Value Add(const Napi::CallbackInfo& info) {
  const char* fn = "add";
  Napi::Env env = info.Env();
  ArrayArg<float> x, y;
  int64_t n;
  if (!f32Arg(info, 0, fn, "x", &x) || !f32Arg(info, 1, fn, "y", &y) || !intArg(info, 2, fn, "n", 0, INT64_C(1) << 50, &n) ||
      !atLeast(env, fn, "x", x.length, n) || !atLeast(env, fn, "y", y.length, n)) {
    return env.Undefined();
  }
  tsd::add(x.data, y.data, n);
  return env.Undefined();
}

// kvStore(kCache, vCache, k, v, T, kvWidth, slots)
Napi::Value KvStore(const Napi::CallbackInfo& info) {
  const char* fn = "kvStore";
  Napi::Env env = info.Env();
  CacheArg kc, vc;
  ArrayArg<float> k, v;
  ArrayArg<int32_t> slots;
  int64_t T, kvWidth;
  if (!cachePair(info, 0, fn, &kc, &vc) || !f32Arg(info, 2, fn, "k", &k) ||
      !f32Arg(info, 3, fn, "v", &v) || !intArg(info, 4, fn, "T", 0, kMaxDim, &T) ||
      !intArg(info, 5, fn, "kvWidth", 1, kMaxDim, &kvWidth) || !i32Arg(info, 6, fn, "slots", &slots) ||
      !atLeast(env, fn, "k", k.length, T * kvWidth) || !atLeast(env, fn, "v", v.length, T * kvWidth) ||
      !atLeast(env, fn, "slots", slots.length, T)) {
    return env.Undefined();
  }
  const int64_t numSlots = (kc.length < vc.length ? kc.length : vc.length) / kvWidth;
  for (int64_t t = 0; t < T; t++) {
    if (slots.data[t] >= numSlots) {
      fail(env, fn, "slots[" + std::to_string(t) + "] = " + std::to_string(slots.data[t]) +
                        " is beyond the cache (" + std::to_string(numSlots) + " slots)");
      return env.Undefined();
    }
  }
  if (kc.f16) {
    tsd::kvStore(static_cast<uint16_t*>(kc.data), static_cast<uint16_t*>(vc.data), k.data, v.data, T, kvWidth, slots.data);
  } else {
    tsd::kvStore(static_cast<float*>(kc.data), static_cast<float*>(vc.data), k.data, v.data, T, kvWidth, slots.data);
  }
  return env.Undefined();
}

// attention(out, q, kCache, vCache, T, nHeads, nKvHeads, headDim, scale,
//           tokenSeq, tokenPos, blockTables, maxBlocksPerSeq, blockSize)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  const char* fn = "attention";
  Napi::Env env = info.Env();
  ArrayArg<float> out, q;
  CacheArg kc, vc;
  ArrayArg<int32_t> seq, pos, tables;
  int64_t T, nHeads, nKv, hd, maxBlocks, bs;
  double scale;
  if (!f32Arg(info, 0, fn, "out", &out) || !f32Arg(info, 1, fn, "q", &q) || !cachePair(info, 2, fn, &kc, &vc) ||
      !intArg(info, 4, fn, "T", 0, kMaxDim, &T) ||
      !intArg(info, 5, fn, "nHeads", 1, kMaxDim, &nHeads) || !intArg(info, 6, fn, "nKvHeads", 1, kMaxDim, &nKv) ||
      !intArg(info, 7, fn, "headDim", 1, kMaxDim, &hd) || !numArg(info, 8, fn, "scale", &scale) ||
      !i32Arg(info, 9, fn, "batch.tokenSeq", &seq) || !i32Arg(info, 10, fn, "batch.tokenPos", &pos) ||
      !i32Arg(info, 11, fn, "batch.blockTables", &tables) ||
      !intArg(info, 12, fn, "batch.maxBlocksPerSeq", 1, kMaxDim, &maxBlocks) ||
      !intArg(info, 13, fn, "batch.blockSize", 1, kMaxDim, &bs)) {
    return env.Undefined();
  }
  if (nHeads % nKv != 0) {
    fail(env, fn, "nHeads (" + std::to_string(nHeads) + ") must be a multiple of nKvHeads (" + std::to_string(nKv) + ")");
    return env.Undefined();
  }
  const int64_t width = nHeads * hd;
  const int64_t slotWidth = nKv * hd;
  if (!atLeast(env, fn, "out", out.length, T * width) || !atLeast(env, fn, "q", q.length, T * width) ||
      !atLeast(env, fn, "batch.tokenSeq", seq.length, T) || !atLeast(env, fn, "batch.tokenPos", pos.length, T)) {
    return env.Undefined();
  }
  const int64_t numBlocks = (kc.length < vc.length ? kc.length : vc.length) / (bs * slotWidth);
  const int64_t numSeqs = tables.length / maxBlocks;
  for (int64_t t = 0; t < T; t++) {
    const int64_t s = seq.data[t], p = pos.data[t];
    if (s < 0 || s >= numSeqs) {
      fail(env, fn, "batch.tokenSeq[" + std::to_string(t) + "] = " + std::to_string(s) + " is outside the " +
                        std::to_string(numSeqs) + " block tables");
      return env.Undefined();
    }
    if (p < 0 || p / bs >= maxBlocks) {
      fail(env, fn, "batch.tokenPos[" + std::to_string(t) + "] = " + std::to_string(p) +
                        " does not fit maxBlocksPerSeq × blockSize");
      return env.Undefined();
    }
    for (int64_t b = 0; b <= p / bs; b++) {
      const int64_t id = tables.data[s * maxBlocks + b];
      if (id < 0 || id >= numBlocks) {
        fail(env, fn, "block table of sequence " + std::to_string(s) + " entry " + std::to_string(b) + " = " +
                          std::to_string(id) + " is outside the cache (" + std::to_string(numBlocks) + " blocks)");
        return env.Undefined();
      }
    }
  }
  tsd::AttentionArgs a{out.data, q.data, kc.data, vc.data, kc.f16, T, nHeads, nKv, hd, static_cast<float>(scale),
                       seq.data, pos.data, tables.data, maxBlocks, bs};
  tsd::attention(a);
  return env.Undefined();
}

// ---- sampling helpers ---------------------------------------------------------------------------

// topK(x, n, k, out): writes the ids to out, returns how many
Napi::Value TopK(const Napi::CallbackInfo& info) {
  const char* fn = "topK";
  Napi::Env env = info.Env();
  ArrayArg<float> x;
  ArrayArg<int32_t> out;
  int64_t n, k;
  if (!f32Arg(info, 0, fn, "x", &x) || !intArg(info, 1, fn, "n", 0, kMaxDim, &n) ||
      !intArg(info, 2, fn, "k", 0, kMaxDim, &k) || !i32Arg(info, 3, fn, "out", &out) ||
      !atLeast(env, fn, "x", x.length, n) || !atLeast(env, fn, "out", out.length, k < n ? k : n)) {
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(tsd::topK(x.data, n, k, out.data)));
}

// logSumExp(x, n, scale)
Napi::Value LogSumExp(const Napi::CallbackInfo& info) {
  const char* fn = "logSumExp";
  Napi::Env env = info.Env();
  ArrayArg<float> x;
  int64_t n;
  double scale;
  if (!f32Arg(info, 0, fn, "x", &x) || !intArg(info, 1, fn, "n", 0, kMaxDim, &n) ||
      !numArg(info, 2, fn, "scale", &scale) || !atLeast(env, fn, "x", x.length, n)) {
    return env.Undefined();
  }
  if (!(scale > 0)) {
    fail(env, fn, "scale must be positive");
    return env.Undefined();
  }
  return Napi::Number::New(env, tsd::logSumExp(x.data, n, static_cast<float>(scale)));
}

// sampleCategorical(x, n, scale, u)
Napi::Value SampleCategorical(const Napi::CallbackInfo& info) {
  const char* fn = "sampleCategorical";
  Napi::Env env = info.Env();
  ArrayArg<float> x;
  int64_t n;
  double scale, u;
  if (!f32Arg(info, 0, fn, "x", &x) || !intArg(info, 1, fn, "n", 1, kMaxDim, &n) ||
      !numArg(info, 2, fn, "scale", &scale) || !numArg(info, 3, fn, "u", &u) || !atLeast(env, fn, "x", x.length, n)) {
    return env.Undefined();
  }
  if (!(scale > 0) || !(u >= 0 && u < 1)) {
    fail(env, fn, "scale must be positive and u in [0, 1)");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(tsd::sampleCategorical(x.data, n, static_cast<float>(scale), u)));
}

// ---- ISA control ------------------------------------------------------------------------------

Napi::Value GetIsa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), tsd::isaName(tsd::currentIsa())); }

// setIsa(name): switch the dispatch; throws for unknown or unsupported names.
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "setIsa(name: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string name = info[0].As<Napi::String>();
  Isa isa;
  if (!tsd::parseIsa(name.c_str(), &isa)) {
    fail(env, "setIsa", "unknown ISA '" + name + "' (expected scalar, avx2 or avx512)");
    return env.Undefined();
  }
  if (!tsd::setIsa(isa)) {
    fail(env, "setIsa", "this CPU does not support " + name);
    return env.Undefined();
  }
  return env.Undefined();
}

Napi::Value SupportedIsas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array arr = Napi::Array::New(env);
  uint32_t k = 0;
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (tsd::isaSupported(isa)) arr.Set(k++, Napi::String::New(env, tsd::isaName(isa)));
  }
  return arr;
}

Napi::Value GetAmx(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), tsd::amxEnabled()); }

Napi::Value AmxSupported(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), tsd::amxSupported());
}

// setAmx(on): use AMX tiles for the many-token integer matmul; throws when enabling without support.
Napi::Value SetAmx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean()) {
    Napi::TypeError::New(env, "setAmx(on: boolean)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!tsd::setAmx(info[0].As<Napi::Boolean>().Value())) fail(env, "setAmx", "this CPU or OS does not allow AMX tiles");
  return env.Undefined();
}

// ---- thread pool ------------------------------------------------------------------------------

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), tsd::numThreads()); }

Napi::Value DefaultThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), tsd::defaultThreads());
}

// setThreads(n): threads the kernels use (the caller plus n − 1 pool workers).
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int64_t n;
  if (!intArg(info, 0, "setThreads", "n", 1, tsd::kMaxThreads, &n)) return info.Env().Undefined();
  tsd::setThreads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tsd::initIsa();
  exports.Set("mapFile", Napi::Function::New(env, MapFile));
  exports.Set("releasePages", Napi::Function::New(env, ReleasePages));
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("packWeights", Napi::Function::New(env, PackWeights));
  exports.Set("getRows", Napi::Function::New(env, GetRows));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm));
  exports.Set("rope", Napi::Function::New(env, Rope));
  exports.Set("swiglu", Napi::Function::New(env, Swiglu));
  exports.Set("add", Napi::Function::New(env, Add));
  exports.Set("quantizeRows", Napi::Function::New(env, QuantizeRows));
  exports.Set("kvStore", Napi::Function::New(env, KvStore));
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("topK", Napi::Function::New(env, TopK));
  exports.Set("logSumExp", Napi::Function::New(env, LogSumExp));
  exports.Set("sampleCategorical", Napi::Function::New(env, SampleCategorical));
  exports.Set("getIsa", Napi::Function::New(env, GetIsa));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa));
  exports.Set("supportedIsas", Napi::Function::New(env, SupportedIsas));
  exports.Set("getAmx", Napi::Function::New(env, GetAmx));
  exports.Set("setAmx", Napi::Function::New(env, SetAmx));
  exports.Set("amxSupported", Napi::Function::New(env, AmxSupported));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("defaultThreads", Napi::Function::New(env, DefaultThreads));
  return exports;
}

}  // namespace

NODE_API_MODULE(tsdeploy_native, Init)
