import { Worker } from 'node:worker_threads';
import type { EngineClient } from './client-types.ts';
import type { EngineInfo, EngineOptions, FromWorker, ToWorker } from './protocol.ts';
import { type EngineOutput, type EngineRequest, type EngineStats, SharedStats } from './types.ts';

/** Outputs of one request, waiting for its consumer. */
class OutputQueue {
  private items: EngineOutput[] = [];
  private wake: (() => void) | undefined;

  push(out: EngineOutput): void {
    this.items.push(out);
    this.wake?.();
    this.wake = undefined;
  }

  async next(): Promise<EngineOutput> {
    while (this.items.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.items.shift()!;
  }
}

/**
 * The engine as the front end sees it: requests go to the worker thread over its MessagePort,
 * outputs come back per request. Every accepted request ends exactly once — finished, aborted,
 * or with an error output (also when the worker dies).
 */
export class AsyncEngine implements EngineClient {
  private readonly queues = new Map<string, OutputQueue>();
  private readonly sharedStats: SharedStats;
  private dead: string | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly info: EngineInfo,
  ) {
    this.sharedStats = new SharedStats(info.stats);
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'outputs') for (const out of msg.outputs) this.queues.get(out.id)?.push(out);
      else if (msg.type === 'fatal') this.failAll(`engine failed: ${msg.error}`);
    });
    worker.on('error', (err) => this.failAll(`engine failed: ${err.message}`));
    worker.on('exit', (code) => this.failAll(`engine stopped (exit code ${code})`));
  }

  static async start(options: EngineOptions): Promise<AsyncEngine> {
    const worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: options });
    let onMessage: (msg: FromWorker) => void = () => {};
    let onExit: (code: number) => void = () => {};
    const info = await new Promise<EngineInfo>((resolve, reject) => {
      onMessage = (msg) => {
        if (msg.type === 'ready') resolve(msg.info);
        else if (msg.type === 'fatal') reject(new Error(msg.error));
      };
      onExit = (code) => reject(new Error(`engine worker exited during start-up (code ${code})`));
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', onExit);
    }).finally(() => {
      // Only our own listeners: Worker keeps internal ones that deliver messages.
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      worker.removeAllListeners('error');
    });
    return new AsyncEngine(worker, info);
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  get maxModelLen(): number {
    return this.info.maxModelLen;
  }

  get modelVocabSize(): number {
    return this.info.modelVocabSize;
  }

  async *generate(request: EngineRequest, signal?: AbortSignal): AsyncIterable<EngineOutput> {
    if (this.dead) {
      yield { id: request.id, tokenIds: [], finishReason: 'error', error: this.dead };
      return;
    }
    if (this.queues.has(request.id)) throw new Error(`request id ${request.id} is already running`);
    const queue = new OutputQueue();
    this.queues.set(request.id, queue);
    const onAbort = (): void => this.post({ type: 'abort', id: request.id });
    signal?.addEventListener('abort', onAbort, { once: true });
    let finished = false;
    try {
      this.post({ type: 'add', request });
      if (signal?.aborted) onAbort();
      for (;;) {
        const out = await queue.next();
        finished = out.finishReason !== undefined;
        yield out;
        if (finished) return;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // A consumer that stops early (break, throw, disconnect) must not leave work in the engine.
      if (!finished) this.post({ type: 'abort', id: request.id });
      this.queues.delete(request.id);
    }
  }

  /** Occupancy of the engine as of its latest scheduling decision (read from shared memory, never waits). */
  stats(): EngineStats {
    return this.sharedStats.read();
  }

  async close(): Promise<void> {
    this.failAll('engine closed');
    await this.worker.terminate();
  }

  private post(msg: ToWorker): void {
    if (!this.dead) this.worker.postMessage(msg);
  }

  private failAll(error: string): void {
    if (this.dead) return;
    this.dead = error;
    for (const [id, queue] of this.queues) queue.push({ id, tokenIds: [], finishReason: 'error', error });
  }
}

/** Starts the engine worker and resolves once the model is loaded. */
export function startEngine(options: EngineOptions): Promise<AsyncEngine> {
  return AsyncEngine.start(options);
}
