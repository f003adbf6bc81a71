// Thread pool with dynamic chunk claiming (see threadpool.h).
//
// One 64-bit ticket describes the current job: epoch (24 bits) | chunk count (20) | next chunk (20).
// Threads claim chunk i by a compare-exchange of the ticket from (e, n, i) to (e, n, i + 1); the
// job's function and context are read only after a successful claim, when the job is certainly
// live (its owner rewrites them only once every chunk of it has finished). A thread that wakes up
// late finds a new epoch or no chunk left and goes back to waiting.
#include "threadpool.h"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace tsd {

namespace {

/** How long an idle worker polls for the next job before it sleeps on the condition variable. */
constexpr int64_t kSpinMicros = 100;

constexpr uint64_t kMask20 = (uint64_t{1} << 20) - 1;
inline uint64_t epochOf(uint64_t t) { return t >> 40; }
inline uint64_t countOf(uint64_t t) { return (t >> 20) & kMask20; }
inline uint64_t nextOf(uint64_t t) { return t & kMask20; }

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

using Clock = std::chrono::steady_clock;

struct Pool {
  std::mutex owner;  // held for the whole of a parallel job, and while resizing
  std::atomic<uint64_t> ticket{0};
  std::atomic<int64_t> done{0};
  std::atomic<ChunkFn> fn{nullptr};
  std::atomic<void*> ctx{nullptr};

  std::mutex sleepMutex;
  std::condition_variable wake;
  std::atomic<int> sleepers{0};
  std::atomic<bool> stop{false};

  std::vector<std::thread> workers;
  std::atomic<int> threads{1};
  bool started = false;  // workers are started lazily, on the first parallel job
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static destruction at exit
  return *p;
}

thread_local bool tInsideJob = false;

/** Claims and runs chunks of the job with epoch e until none is left. */
void work(Pool& p, uint64_t e) {
  uint64_t t = p.ticket.load(std::memory_order_acquire);
  while (epochOf(t) == e && nextOf(t) < countOf(t)) {
    if (p.ticket.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      const ChunkFn fn = p.fn.load(std::memory_order_relaxed);
      void* ctx = p.ctx.load(std::memory_order_relaxed);
      fn(ctx, static_cast<int64_t>(nextOf(t)));
      p.done.fetch_add(1, std::memory_order_release);
      t = p.ticket.load(std::memory_order_acquire);
    }
  }
}

void workerMain(Pool* p, uint64_t seen) {
  tInsideJob = true;
  for (;;) {
    // wait for a new epoch: poll for a while, then sleep
    const Clock::time_point t0 = Clock::now();
    uint64_t e = seen;
    for (int spins = 0;; spins++) {
      if (p->stop.load(std::memory_order_acquire)) return;
      e = epochOf(p->ticket.load(std::memory_order_acquire));
      if (e != seen) break;
      if ((spins & 63) == 63 &&
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count() > kSpinMicros) {
        std::unique_lock<std::mutex> lock(p->sleepMutex);
        p->sleepers.fetch_add(1, std::memory_order_seq_cst);
        p->wake.wait(lock, [&] {
          return p->stop.load(std::memory_order_seq_cst) ||
                 epochOf(p->ticket.load(std::memory_order_seq_cst)) != seen;
        });
        p->sleepers.fetch_sub(1, std::memory_order_relaxed);
        continue;
      }
      cpuRelax();
    }
    seen = e;
    work(*p, e);
  }
}

void stopWorkers(Pool& p) {
  {
    std::lock_guard<std::mutex> lock(p.sleepMutex);
    p.stop.store(true, std::memory_order_seq_cst);
  }
  p.wake.notify_all();
  for (std::thread& w : p.workers) w.join();
  p.workers.clear();
  p.stop.store(false, std::memory_order_relaxed);
}

/** Starts threads − 1 workers (the caller holds p.owner). */
void startWorkers(Pool& p) {
  const uint64_t seen = epochOf(p.ticket.load(std::memory_order_relaxed));
  const int n = p.threads.load(std::memory_order_relaxed);
  for (int i = 1; i < n; i++) p.workers.emplace_back(workerMain, &p, seen);
  p.started = true;
}

int initialThreads() {
  const char* env = std::getenv("TSDEPLOY_THREADS");
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (*end == '\0' && v >= 1 && v <= kMaxThreads) return static_cast<int>(v);
  }
  return defaultThreads();
}

}  // namespace

int defaultThreads() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n >= 1) return n < kMaxThreads ? n : kMaxThreads;
  }
  const unsigned hc = std::thread::hardware_concurrency();
  if (hc >= 1) return hc < static_cast<unsigned>(kMaxThreads) ? static_cast<int>(hc) : kMaxThreads;
  return 1;
}

namespace {
struct InitThreads {
  InitThreads() { pool().threads.store(initialThreads(), std::memory_order_relaxed); }
};
const InitThreads initThreads;
}  // namespace

int numThreads() { return pool().threads.load(std::memory_order_relaxed); }

void setThreads(int n) {
  if (n < 1) n = 1;
  if (n > kMaxThreads) n = kMaxThreads;
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.owner);
  if (n == p.threads.load(std::memory_order_relaxed)) return;
  if (p.started) stopWorkers(p);
  p.threads.store(n, std::memory_order_relaxed);
  p.started = false;
}

void parallelFor(int64_t n, ChunkFn fn, void* ctx) {
  if (n <= 0) return;
  Pool& p = pool();
  auto inline_ = [&] {
    for (int64_t i = 0; i < n; i++) fn(ctx, i);
  };
  if (n == 1 || tInsideJob || p.threads.load(std::memory_order_relaxed) == 1 || n > static_cast<int64_t>(kMask20)) {
    return inline_();
  }
  // One job at a time: a second JS thread calling in meanwhile runs its kernel on its own.
  std::unique_lock<std::mutex> lock(p.owner, std::try_to_lock);
  if (!lock.owns_lock()) return inline_();
  if (!p.started) startWorkers(p);
  if (p.workers.empty()) return inline_();

  p.fn.store(fn, std::memory_order_relaxed);
  p.ctx.store(ctx, std::memory_order_relaxed);
  p.done.store(0, std::memory_order_relaxed);
  const uint64_t e = (epochOf(p.ticket.load(std::memory_order_relaxed)) + 1) & 0xffffff;
  p.ticket.store((e << 40) | (static_cast<uint64_t>(n) << 20), std::memory_order_seq_cst);
  if (p.sleepers.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> g(p.sleepMutex); }
    p.wake.notify_all();
  }
  tInsideJob = true;
  work(p, e);
  tInsideJob = false;
  // wait for chunks other threads are still running
  for (int spins = 0; p.done.load(std::memory_order_acquire) < n; spins++) {
    if (spins < 4096) cpuRelax();
    else std::this_thread::yield();
  }
}

}  // namespace tsd
