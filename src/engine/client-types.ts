import type { EngineOutput, EngineRequest, EngineStats } from './types.ts';

/** The front end's view of the engine: submit token ids, receive token ids. */
export interface EngineClient {
  /**
   * Starts a request and yields its outputs until one carries finishReason. Aborting `signal`
   * (client disconnected, stop string matched) aborts the request in the engine and ends the iterator.
   */
  generate(request: EngineRequest, signal?: AbortSignal): AsyncIterable<EngineOutput>;
  /** Context window of the loaded model as configured (--max-model-len). */
  readonly maxModelLen: number;
  /** Embedding rows of the model (logits width); ids ≥ tokenizer size are padding. */
  readonly modelVocabSize: number;
  /** False once the engine has failed or was closed: requests then end with an error output. */
  readonly alive: boolean;
  /** Occupancy (running/waiting requests, KV blocks) as of the latest scheduling decision, for /metrics. */
  stats(): EngineStats;
  close(): Promise<void>;
}
