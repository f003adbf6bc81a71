import type { RopePairing, WeightMatrix } from '../native/types.ts';

export type Architecture = 'llama' | 'qwen2' | 'qwen3' | 'ernie4_5';

/** Everything the forward pass needs to know about a checkpoint, whatever its file format. */
export interface ModelSpec {
  architecture: Architecture;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  /** explicit head_dim when the config has one, else hidden/heads */
  headDim: number;
  intermediateSize: number;
  /** embedding / LM-head rows (may exceed the tokenizer's size: padding rows) */
  vocabSize: number;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** which coordinates RoPE pairs for the weights *as loaded* (GGUF llama: interleaved; HF llama: half-split) */
  ropePairing: RopePairing;
  /** headDim/2 inverse frequencies after any rope scaling (llama3 scaling, GGUF rope_freqs) */
  ropeInvFreq: Float32Array;
  tieWordEmbeddings: boolean;
  bosTokenId: number | undefined;
  /** eos ids from config.json / generation_config.json / GGUF metadata */
  eosTokenIds: number[];
}

export interface LayerWeights {
  attnNorm: Float32Array;
  wq: WeightMatrix;
  wk: WeightMatrix;
  wv: WeightMatrix;
  wo: WeightMatrix;
  /** Qwen2 q/k/v biases */
  bq?: Float32Array;
  bk?: Float32Array;
  bv?: Float32Array;
  /** Qwen3 per-head q/k RMSNorm weights (length headDim) */
  qNorm?: Float32Array;
  kNorm?: Float32Array;
  ffnNorm: Float32Array;
  wGate: WeightMatrix;
  wUp: WeightMatrix;
  wDown: WeightMatrix;
}

export interface ModelWeights {
  embedding: WeightMatrix;
  layers: LayerWeights[];
  finalNorm: Float32Array;
  /** the embedding itself when tied */
  lmHead: WeightMatrix;
}

export interface LoadedModel {
  path: string;
  format: 'hf' | 'gguf';
  spec: ModelSpec;
  weights: ModelWeights;
}
