// The addon's thread pool: numThreads() − 1 worker threads plus the calling thread.
//
// parallelFor(n, fn) runs fn(i) once for every chunk i < n. Chunks are claimed dynamically from a
// shared counter, so a worker that the OS does not schedule (an oversubscribed machine) never holds
// up the others: the calling thread simply takes the remaining chunks, and waits only for chunks
// another thread has already started. Idle workers spin briefly (about kSpinMicros) and then sleep
// on a condition variable, so they cost nothing between requests.
//
// Results never depend on the thread count: callers split work so that every output element is
// computed by exactly one chunk, with code that does not depend on which thread runs it.
#pragma once
#include <cstdint>

namespace tsd {

/** The machine's usable cores (sched_getaffinity, else std::thread::hardware_concurrency, ≥ 1). */
int defaultThreads();

/** Threads used by parallel kernels (the caller plus workers); 1 disables the pool. */
int numThreads();

/** Resize the pool (1…kMaxThreads); joins or starts workers. Not callable from inside a chunk. */
void setThreads(int n);

constexpr int kMaxThreads = 256;

using ChunkFn = void (*)(void* ctx, int64_t chunk);

/** Run fn(ctx, i) for i in [0, n); returns when all have finished. n ≤ 2^20 − 1. */
void parallelFor(int64_t n, ChunkFn fn, void* ctx);

template <class F>
inline void parallelFor(int64_t n, F& f) {
  parallelFor(n, [](void* c, int64_t i) { (*static_cast<F*>(c))(i); }, &f);
}

}  // namespace tsd
