/**
 * Hugging Face `config.json` (+ `generation_config.json`) → ModelSpec (models.md §1, §1.9, §1.10),
 * and the RoPE frequency computation shared with the GGUF path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RopePairing } from '../native/types.ts';
import type { Architecture, ModelSpec } from './types.ts';

type Json = Record<string, unknown>;

interface ArchDefaults {
  architecture: Architecture;
  /** HF checkpoints of Llama/Qwen are half-split; ERNIE is interleaved in every format */
  ropePairing: RopePairing;
  /** defaults of the transformers config classes, used when config.json omits a key */
  tieWordEmbeddings: boolean;
  rmsNormEps: number;
  ropeTheta: number;
}

const LLAMA: ArchDefaults = {
  architecture: 'llama',
  ropePairing: RopePairing.HalfSplit,
  tieWordEmbeddings: false,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
};
const QWEN2: ArchDefaults = { ...LLAMA, architecture: 'qwen2' };
const QWEN3: ArchDefaults = { ...LLAMA, architecture: 'qwen3' };
const ERNIE: ArchDefaults = {
  architecture: 'ernie4_5',
  ropePairing: RopePairing.Interleaved,
  tieWordEmbeddings: true,
  rmsNormEps: 1e-5,
  ropeTheta: 500000,
};

/** `architectures[0]` of config.json → family. */
const HF_ARCHITECTURES: Record<string, ArchDefaults> = {
  LlamaForCausalLM: LLAMA,
  MistralForCausalLM: LLAMA,
  Qwen2ForCausalLM: QWEN2,
  Qwen3ForCausalLM: QWEN3,
  Ernie4_5ForCausalLM: ERNIE,
  // older PT repos and all Paddle repos
  Ernie4_5_ForCausalLM: ERNIE,
};

/** `model_type` fallback for configs without `architectures`. */
const MODEL_TYPES: Record<string, ArchDefaults> = {
  llama: LLAMA,
  mistral: LLAMA,
  qwen2: QWEN2,
  qwen3: QWEN3,
  ernie4_5: ERNIE,
};

export const SUPPORTED_HF_ARCHITECTURES = Object.keys(HF_ARCHITECTURES);

/**
 * inv_freq_i = 1 / θ^(2i/d) for i < d/2, rounded to float32 at each step as transformers does
 * (`1.0 / (base ** (arange(0, d, 2).float() / d))`). The power is taken in double and rounded
 * once, i.e. correctly rounded; torch's float32 pow may differ in the last bit (≤ 1 ulp, ~1e-7
 * relative), far below any tolerance that matters.
 */
export function ropeInvFreq(theta: number, headDim: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const exponent = Math.fround((2 * i) / headDim);
    const power = Math.fround(theta ** exponent);
    out[i] = Math.fround(1 / power);
  }
  return out;
}

/** transformers' `_compute_llama3_parameters` (models.md §1.2), evaluated in float32 like the torch code. */
export function applyLlama3Scaling(
  invFreq: Float32Array,
  p: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number },
): Float32Array {
  const f = Math.fround;
  const lowWavelen = p.originalMaxPositionEmbeddings / p.lowFreqFactor;
  const highWavelen = p.originalMaxPositionEmbeddings / p.highFreqFactor;
  const out = new Float32Array(invFreq.length);
  for (let i = 0; i < invFreq.length; i++) {
    const inv = invFreq[i];
    const wavelen = f((2 * Math.PI) / inv);
    if (wavelen < highWavelen) {
      out[i] = inv;
    } else if (wavelen > lowWavelen) {
      out[i] = f(inv / p.factor);
    } else {
      const smooth = f(
        f(f(p.originalMaxPositionEmbeddings / wavelen) - p.lowFreqFactor) / (p.highFreqFactor - p.lowFreqFactor),
      );
      out[i] = f(f(f(f(1 - smooth) * inv) / p.factor) + f(smooth * inv));
    }
  }
  return out;
}

function num(config: Json, key: string, fallback?: number): number {
  const v = config[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if ((v === undefined || v === null) && fallback !== undefined) return fallback;
  throw new Error(`config.json: ${key} is ${v === undefined ? 'missing' : `not a number (${JSON.stringify(v)})`}`);
}

/** eos_token_id may be an int, a list of ints, or absent. */
function idList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/** rope_scaling (older configs) or a non-default rope_parameters (newer transformers) → scaled inv freqs. */
function scaledInvFreq(config: Json, theta: number, headDim: number): Float32Array {
  const base = ropeInvFreq(theta, headDim);
  const scaling = (config.rope_scaling ?? config.rope_parameters) as Json | null | undefined;
  if (!scaling || typeof scaling !== 'object') return base;
  const type = (scaling.rope_type ?? scaling.type ?? 'default') as string;
  switch (type) {
    case 'default':
      return base;
    case 'linear': {
      const factor = num(scaling, 'factor');
      return base.map((x) => Math.fround(x / factor));
    }
    case 'llama3':
      return applyLlama3Scaling(base, {
        factor: num(scaling, 'factor'),
        lowFreqFactor: num(scaling, 'low_freq_factor'),
        highFreqFactor: num(scaling, 'high_freq_factor'),
        originalMaxPositionEmbeddings: num(scaling, 'original_max_position_embeddings'),
      });
    default:
      // yarn / dynamic / longrope also change attention scaling or depend on the sequence length
      throw new Error(`config.json: rope scaling type "${type}" is not supported (supported: default, linear, llama3)`);
  }
}

function archOf(config: Json): ArchDefaults {
  const archs = config.architectures;
  const name = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : undefined;
  if (name !== undefined) {
    const a = HF_ARCHITECTURES[name];
    if (!a) throw new Error(`unsupported architecture ${name} (supported: ${SUPPORTED_HF_ARCHITECTURES.join(', ')})`);
    return a;
  }
  const modelType = config.model_type;
  const a = typeof modelType === 'string' ? MODEL_TYPES[modelType] : undefined;
  if (!a) {
    throw new Error(
      `config.json has no architectures and unsupported model_type ${JSON.stringify(modelType)} (supported: ${Object.keys(MODEL_TYPES).join(', ')})`,
    );
  }
  return a;
}

/** Build the ModelSpec from parsed config.json and (optional) generation_config.json objects. */
export function specFromHfConfig(config: Json, generationConfig: Json = {}): ModelSpec {
  const arch = archOf(config);
  const hiddenSize = num(config, 'hidden_size');
  const numHeads = num(config, 'num_attention_heads');
  const numKvHeads = num(config, 'num_key_value_heads', numHeads);
  // ERNIE-0.3B and Qwen3 have head_dim ≠ hidden/heads; never derive it when it is given
  const headDim = num(config, 'head_dim', hiddenSize / numHeads);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0)
    throw new Error(`config.json: head_dim ${headDim} must be an even integer`);
  if (numHeads % numKvHeads !== 0)
    throw new Error(
      `config.json: num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`,
    );
  const ropeParams = config.rope_parameters as Json | undefined;
  const ropeTheta =
    typeof config.rope_theta === 'number'
      ? config.rope_theta
      : typeof ropeParams?.rope_theta === 'number'
        ? ropeParams.rope_theta
        : arch.ropeTheta;
  const tie = config.tie_word_embeddings;
  const eos = [...idList(generationConfig.eos_token_id), ...idList(config.eos_token_id)];
  const bos = config.bos_token_id ?? generationConfig.bos_token_id;
  return {
    architecture: arch.architecture,
    hiddenSize,
    numLayers: num(config, 'num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: num(config, 'intermediate_size'),
    vocabSize: num(config, 'vocab_size'),
    // Paddle configs may carry max_sequence_length instead
    maxPositionEmbeddings: num(config, 'max_position_embeddings', num(config, 'max_sequence_length', 4096)),
    rmsNormEps: num(config, 'rms_norm_eps', arch.rmsNormEps),
    ropeTheta,
    ropePairing: arch.ropePairing,
    ropeInvFreq: scaledInvFreq(config, ropeTheta, headDim),
    tieWordEmbeddings: typeof tie === 'boolean' ? tie : arch.tieWordEmbeddings,
    bosTokenId: typeof bos === 'number' ? bos : undefined,
    eosTokenIds: [...new Set(eos)],
  };
}

function readJson(path: string): Json {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** Read `dir/config.json` and, if present, `dir/generation_config.json`. */
export function readHfSpec(dir: string): { spec: ModelSpec; config: Json } {
  const config = readJson(join(dir, 'config.json'));
  const genPath = join(dir, 'generation_config.json');
  const gen = existsSync(genPath) ? readJson(genPath) : {};
  return { spec: specFromHfConfig(config, gen), config };
}
