/** FastDeploy's weight-only quantization names: wint8 → Q8_0, wint4 → Q4_0 blocks. */
export type WeightQuantization = 'wint8' | 'wint4';

export const WEIGHT_QUANTIZATIONS: readonly WeightQuantization[] = ['wint8', 'wint4'];

/** Typed configuration of `tsdeploy serve`, with FastDeploy's flag names and tsdeploy's defaults. */
export interface ServeConfig {
  model: string;
  /** weight-only quantization at load: wint8 (Q8_0) or wint4 (Q4_0) */
  quantization: WeightQuantization | undefined;
  host: string;
  port: number;
  servedModelName: string | undefined;
  /** undefined → the model's max_position_embeddings */
  maxModelLen: number | undefined;
  chatTemplate: string | undefined;
  enableLogprob: boolean;
  maxLogprobs: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  enableChunkedPrefill: boolean;
  enablePrefixCaching: boolean;
  blockSize: number;
  /** kernel threads; undefined → the machine's usable cores */
  threads: number | undefined;
  /** GiB of memory for the KV cache */
  kvCacheMemory: number;
  /** element type of the KV cache */
  kvCacheDtype: 'f16' | 'f32';
}

export const SERVE_DEFAULTS: Omit<ServeConfig, 'model'> = {
  quantization: undefined,
  host: '0.0.0.0',
  port: 8000,
  servedModelName: undefined,
  maxModelLen: undefined,
  chatTemplate: undefined,
  enableLogprob: false,
  maxLogprobs: 20,
  maxNumSeqs: 32,
  // FastDeploy's GPU default is 2048; on 2 CPU cores a 2048-token step takes seconds, during which
  // every running stream waits. 512 tokens (about a second of prefill at most) interleaves prompts
  // with decodes: at 16 concurrent clients it halved time-to-first-token and raised throughput.
  maxNumBatchedTokens: 512,
  enableChunkedPrefill: true,
  enablePrefixCaching: true,
  blockSize: 64,
  threads: undefined,
  kvCacheMemory: 2,
  kvCacheDtype: 'f16',
};
