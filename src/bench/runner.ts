/**
 * Runs a fixed list of requests against a schedule: request i becomes due at its arrival offset, then
 * waits for one of the --max-concurrency slots. As in vLLM, arrivals do not slow down when the cap is
 * reached (the backlog waits for slots), so rate and cap combine into an open-loop load with a ceiling.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** A counting semaphore; waiters are served in arrival order. */
export class Semaphore {
  private readonly waiters: (() => void)[] = [];
  private free: number;

  constructor(slots: number) {
    this.free = slots;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    // Hand the slot straight to the next waiter so a late acquire cannot overtake it.
    if (next) next();
    else this.free++;
  }
}

export interface RunOutcome<R> {
  results: R[];
  /** performance-clock seconds */
  start: number;
  end: number;
}

export async function runScheduled<T, R>(
  items: readonly T[],
  offsetsS: readonly number[],
  maxConcurrency: number | null,
  send: (item: T) => Promise<R>,
  onDone?: (finished: number) => void,
): Promise<RunOutcome<R>> {
  const slots = maxConcurrency === null ? null : new Semaphore(maxConcurrency);
  const start = performance.now() / 1000;
  let finished = 0;
  const results = await Promise.all(
    items.map(async (item, i) => {
      const wait = (start + offsetsS[i]) * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      await slots?.acquire();
      try {
        return await send(item);
      } finally {
        slots?.release();
        onDone?.(++finished);
      }
    }),
  );
  return { results, start, end: performance.now() / 1000 };
}
