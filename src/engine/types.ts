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
  /** blocks registered in the prefix cache */
  numCachedBlocks: number;
}
