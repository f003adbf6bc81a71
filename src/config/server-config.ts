/** Typed configuration of `tsdeploy serve`, with FastDeploy's flag names and tsdeploy's defaults. */
export interface ServeConfig {
  model: string;
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
  /** GiB of memory for the KV cache */
  kvCacheMemory: number;
}

export const SERVE_DEFAULTS: Omit<ServeConfig, 'model'> = {
  host: '0.0.0.0',
  port: 8000,
  servedModelName: undefined,
  maxModelLen: undefined,
  chatTemplate: undefined,
  enableLogprob: false,
  maxLogprobs: 20,
  maxNumSeqs: 32,
  maxNumBatchedTokens: 2048,
  enableChunkedPrefill: true,
  enablePrefixCaching: true,
  blockSize: 64,
  kvCacheMemory: 2,
};
