import type { WeightQuantization } from '../config/server-config.ts';
import type { KvCacheDtype } from '../native/types.ts';
import type { EngineOutput, EngineRequest } from './types.ts';

/** Everything the engine core needs to start; sent to the worker thread as its workerData. */
export interface EngineOptions {
  modelPath: string;
  /** weight-only quantization applied at load (FastDeploy's --quantization) */
  quantization?: WeightQuantization;
  /** context window; defaults to the model's max_position_embeddings */
  maxModelLen?: number;
  /** ids ≥ this are padding rows (the tokenizer's size); defaults to the model's vocab */
  vocabLimit?: number;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  enableChunkedPrefill?: boolean;
  enablePrefixCaching?: boolean;
  blockSize?: number;
  /** kernel threads (the addon's pool is per process); undefined keeps the addon's default */
  threads?: number;
  /** bytes of memory the KV cache may use */
  kvCacheBytes?: number;
  /** element type of the KV cache: f16 (default; half the memory) or f32 */
  kvCacheDtype?: KvCacheDtype;
}

/** What the worker reports once the model is loaded. */
export interface EngineInfo {
  maxModelLen: number;
  modelVocabSize: number;
  eosTokenIds: number[];
  numBlocks: number;
  blockSize: number;
  isa: string;
  threads: number;
  /** the SharedStats buffer the worker keeps current */
  stats: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'add'; request: EngineRequest }
  | { type: 'abort'; id: string }
  | { type: 'shutdown' };

export type FromWorker =
  | { type: 'ready'; info: EngineInfo }
  | { type: 'outputs'; outputs: EngineOutput[] }
  | { type: 'fatal'; error: string };
