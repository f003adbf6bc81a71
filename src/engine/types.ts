/** Messages between the front end (engine/client) and the engine core (worker thread). Token ids only. */

export interface SamplingParams {
  /** 0 → greedy */
  temperature: number;
  topP: number;
  /** 0 → disabled */
  topK: number;
  /** undefined → a random seed chosen by the engine */
  seed?: number;
  /** generated tokens allowed (already clamped to the context window) */
  maxTokens: number;
  /**
   * ids that end the sequence: the model's EOS ids (left out by the front end when the request
   * sets ignore_eos) plus the request's stop_token_ids
   */
  stopTokenIds: number[];
  /** stop ids are suppressed until this many tokens were generated (default 0) */
  minTokens?: number;
  /** number of top alternatives to report per generated token; null → no logprobs */
  logprobs: number | null;
}

export interface EngineRequest {
  id: string;
  promptIds: number[];
  sampling: SamplingParams;
}

export interface TokenLogprob {
  /** logprob of the sampled token */
  logprob: number;
  /** top alternatives, best first */
  top: { id: number; logprob: number }[];
}

export type FinishReason = 'stop' | 'length' | 'abort' | 'error';

/** Incremental output for one request: the tokens generated since the previous output. */
export interface EngineOutput {
  id: string;
  tokenIds: number[];
  logprobs?: TokenLogprob[];
  finishReason?: FinishReason;
  error?: string;
  /** on a request's first output: prompt tokens whose KV came from the prefix cache */
  cachedTokens?: number;
}

/** Engine occupancy, for /metrics and tests. */
export interface EngineStats {
  numRunning: number;
  numWaiting: number;
  numBlocks: number;
  /** blocks no request owns (including cached ones that can be evicted) */
  numFreeBlocks: number;
  /** free blocks that still hold a cached prefix (evicted only when space runs out) */
  numFreeCachedBlocks: number;
  /** blocks registered in the prefix cache, owned or not */
  numCachedBlocks: number;
}

const STATS_FIELDS = ['numRunning', 'numWaiting', 'numBlocks', 'numFreeBlocks', 'numFreeCachedBlocks', 'numCachedBlocks'] as const;

/**
 * Engine stats in shared memory: the worker writes them after every scheduling decision, the main
 * thread reads them at any time — also in the middle of a long step, when the worker cannot answer
 * messages.
 */
export class SharedStats {
  private readonly cells: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(STATS_FIELDS.length * 4)) {
    this.cells = new Int32Array(buffer);
  }

  write(stats: EngineStats): void {
    STATS_FIELDS.forEach((f, i) => {
      Atomics.store(this.cells, i, stats[f]);
    });
  }

  read(): EngineStats {
    const out = {} as EngineStats;
    STATS_FIELDS.forEach((f, i) => {
      out[f] = Atomics.load(this.cells, i);
    });
    return out;
  }
}
