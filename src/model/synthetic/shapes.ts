/**
 * Named model shapes for the synthetic-model generator, and the Hugging Face config files that
 * describe them. `ernie-0.3b` has the exact dimensions and config of baidu/ERNIE-4.5-0.3B-PT
 * (models.md §0, §1.6), so a random-weight copy costs what the real model costs to serve.
 */

export type ShapeFamily = 'ernie4_5' | 'llama';

export interface SyntheticShape {
  name: string;
  description: string;
  /**
   * ernie4_5: Ernie4_5ForCausalLM, interleaved rope in every format (GGUF written unpermuted).
   * llama: LlamaForCausalLM, HF half-split rope; GGUF q/k rows permuted as llama.cpp's converter does.
   */
  family: ShapeFamily;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  /** embedding rows; rows beyond the tokenizer's size are padding */
  vocabSize: number;
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
}

const ERNIE_0_3B: SyntheticShape = {
  name: 'ernie-0.3b',
  description: 'ERNIE-4.5-0.3B: hidden 1024, 18 layers, 16/2 heads of 128, FFN 3072, vocab 103424',
  family: 'ernie4_5',
  hiddenSize: 1024,
  numLayers: 18,
  numHeads: 16,
  numKvHeads: 2,
  headDim: 128,
  intermediateSize: 3072,
  vocabSize: 103424,
  maxPositionEmbeddings: 131072,
  rmsNormEps: 1e-5,
  ropeTheta: 500000,
  tieWordEmbeddings: true,
};

export const SHAPES: Readonly<Record<string, SyntheticShape>> = {
  [ERNIE_0_3B.name]: ERNIE_0_3B,
  // Fast enough for unit tests; head_dim ≠ hidden/heads and padding rows like the real ERNIE.
  tiny: {
    name: 'tiny',
    description: 'ERNIE-style test model: hidden 64, 2 layers, 4/2 heads of 32, FFN 128, vocab 600',
    family: 'ernie4_5',
    hiddenSize: 64,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 32,
    intermediateSize: 128,
    vocabSize: 600,
    maxPositionEmbeddings: 2048,
    rmsNormEps: 1e-5,
    ropeTheta: 500000,
    tieWordEmbeddings: true,
  },
  // Exercises the other GGUF path: q/k permutation and an untied output.weight.
  'llama-tiny': {
    name: 'llama-tiny',
    description: 'Llama-style test model: hidden 64, 2 layers, 4/2 heads of 16, FFN 128, vocab 512, untied',
    family: 'llama',
    hiddenSize: 64,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 16,
    intermediateSize: 128,
    vocabSize: 512,
    maxPositionEmbeddings: 2048,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: false,
  },
};

export function getShape(name: string): SyntheticShape {
  const s = SHAPES[name];
  if (!s) throw new Error(`unknown model shape '${name}' (known: ${Object.keys(SHAPES).join(', ')})`);
  return s;
}

/** Weights per layer and in total (embedding + layers + final norm + untied head). */
export function parameterCount(s: SyntheticShape): number {
  const H = s.hiddenSize;
  const q = s.numHeads * s.headDim;
  const kv = s.numKvHeads * s.headDim;
  const layer = 2 * H + q * H + 2 * kv * H + H * q + 3 * s.intermediateSize * H;
  return s.vocabSize * H * (s.tieWordEmbeddings ? 1 : 2) + s.numLayers * layer + H;
}

export type HfDtype = 'bf16' | 'f32';

/** config.json for a shape, as the published checkpoints of its family write it. */
export function hfConfig(s: SyntheticShape, dtype: HfDtype): Record<string, unknown> {
  const common = {
    hidden_size: s.hiddenSize,
    intermediate_size: s.intermediateSize,
    num_hidden_layers: s.numLayers,
    num_attention_heads: s.numHeads,
    num_key_value_heads: s.numKvHeads,
    head_dim: s.headDim,
    vocab_size: s.vocabSize,
    max_position_embeddings: s.maxPositionEmbeddings,
    rms_norm_eps: s.rmsNormEps,
    rope_theta: s.ropeTheta,
    rope_scaling: null,
    hidden_act: 'silu',
    tie_word_embeddings: s.tieWordEmbeddings,
    torch_dtype: dtype === 'bf16' ? 'bfloat16' : 'float32',
  };
  if (s.family === 'ernie4_5') {
    return {
      architectures: ['Ernie4_5ForCausalLM'],
      model_type: 'ernie4_5',
      ...common,
      use_bias: false,
      pad_token_id: 0,
      bos_token_id: 1,
      eos_token_id: 2,
      use_cache: true,
    };
  }
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    ...common,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: 1,
    eos_token_id: 2,
    use_cache: true,
  };
}

export function generationConfig(s: SyntheticShape): Record<string, unknown> {
  return s.family === 'ernie4_5'
    ? { bos_token_id: 1, eos_token_id: 2, pad_token_id: 0 }
    : { bos_token_id: 1, eos_token_id: 2 };
}
