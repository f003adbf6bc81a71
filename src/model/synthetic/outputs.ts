/**
 * The files a synthetic model is written as. Each output receives every tensor as f32 rows, chunk
 * by chunk (in plan order), and encodes them into its own format on the way to disk:
 *
 * - `hf`: a Hugging Face directory — model.safetensors (F32 or BF16), config.json,
 *   generation_config.json and the tokenizer files.
 * - `gguf-*`: one GGUF file under the `llama` architecture, so any llama.cpp loads it. ERNIE's
 *   weights need no q/k permutation there (llama.cpp's `llama` arch applies adjacent-pair rope,
 *   which is ERNIE's rope: the "llama-arch" trick of ../shared/models/synthetic/README.md); Llama
 *   shapes are permuted as llama.cpp's converter does. Norms stay F32; every matrix, token_embd
 *   included, takes the file's type (llama.cpp's own Q4_0 files use Q4_0 or Q6_K for token_embd;
 *   Q4_0 is kept here), except an untied output.weight, kept at Q8_0 in Q4_0 files (llama.cpp
 *   uses Q6_K, which we cannot quantise to).
 */
import { chmodSync, copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { quantizeQ4_0, quantizeQ8_0 } from '../../native/reference.ts';
import { GgmlType } from '../../native/types.ts';
import { type GgufKv, GgufWriter } from '../writers/gguf-writer.ts';
import { SafetensorsWriter } from '../writers/safetensors-writer.ts';
import { colsOf, type PlannedTensor, permuteHeadRows } from './plan.ts';
import { generationConfig, type HfDtype, hfConfig, type SyntheticShape } from './shapes.ts';
import { ggufTokenizerKvs, type TokenizerSource } from './tokenizer.ts';

export type OutputFormat = 'hf' | 'gguf-f32' | 'gguf-bf16' | 'gguf-q8_0' | 'gguf-q4_0';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['hf', 'gguf-f32', 'gguf-bf16', 'gguf-q8_0', 'gguf-q4_0'];

/** GGUF format → (weight type, general.file_type as llama.cpp numbers it). */
const GGUF_TYPES: Record<Exclude<OutputFormat, 'hf'>, { type: GgmlType; fileType: number }> = {
  'gguf-f32': { type: GgmlType.F32, fileType: 0 },
  'gguf-bf16': { type: GgmlType.BF16, fileType: 32 },
  'gguf-q8_0': { type: GgmlType.Q8_0, fileType: 7 },
  'gguf-q4_0': { type: GgmlType.Q4_0, fileType: 2 },
};

/** Where a format's output goes inside the output directory: `hf/` or `<shape>.<type>.gguf`. */
export function outputName(shape: SyntheticShape, format: OutputFormat): string {
  return format === 'hf' ? 'hf' : `${shape.name}.${format.slice('gguf-'.length)}.gguf`;
}

export interface Output {
  readonly format: OutputFormat;
  /** final path (directory for hf) */
  readonly path: string;
  /** rows [firstRow, firstRow + values.length / cols) of tensor t, in HF order */
  write(t: PlannedTensor, values: Float32Array): void;
  finish(): void;
  abort(): void;
}

/** F32 bytes without a copy; the buffer is consumed (written) before the caller reuses it. */
function f32View(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/**
 * BF16 bytes, round to nearest even: the reference's f32ToBf16Bits on whole words (≈10× faster
 * than encodeBF16's per-element DataView; the tests compare the two byte for byte).
 */
function encodeBf16(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    out[i] = (b & 0x7fffffff) > 0x7f800000 ? (b >>> 16) | 0x40 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return new Uint8Array(out.buffer);
}

function encode(type: GgmlType, values: Float32Array): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return f32View(values);
    case GgmlType.BF16:
      return encodeBf16(values);
    case GgmlType.Q8_0:
      return quantizeQ8_0(values);
    case GgmlType.Q4_0:
      return quantizeQ4_0(values);
    default:
      throw new Error(`synthetic models are not written as ggml type ${type}`);
  }
}

export interface OutputContext {
  shape: SyntheticShape;
  plan: PlannedTensor[];
  tokenizer: TokenizerSource;
  outDir: string;
  dtype: HfDtype;
}

export function createOutput(format: OutputFormat, ctx: OutputContext): Output {
  return format === 'hf' ? new HfOutput(ctx) : new GgufOutput(format, ctx);
}

/** The HF directory, built as `hf.partial/` and renamed over `hf/` when complete. */
class HfOutput implements Output {
  readonly format = 'hf';
  readonly path: string;
  private readonly tmp: string;
  private readonly writer: SafetensorsWriter;
  private readonly type: GgmlType;

  constructor(private readonly ctx: OutputContext) {
    this.path = join(ctx.outDir, 'hf');
    this.tmp = `${this.path}.partial`;
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true });
    this.type = ctx.dtype === 'bf16' ? GgmlType.BF16 : GgmlType.F32;
    const dtype = ctx.dtype === 'bf16' ? 'BF16' : 'F32';
    this.writer = SafetensorsWriter.create(
      join(this.tmp, 'model.safetensors'),
      ctx.plan.map((t) => ({ name: t.hfName, dtype, shape: [...t.shape] })),
      { format: 'pt' },
    );
  }

  write(t: PlannedTensor, values: Float32Array): void {
    this.writer.write(t.hfName, encode(this.type, values));
  }

  finish(): void {
    this.writer.finish();
    const { shape, tokenizer, dtype } = this.ctx;
    const json = (name: string, v: unknown) => writeFileSync(join(this.tmp, name), `${JSON.stringify(v, null, 2)}\n`);
    json('config.json', hfConfig(shape, dtype));
    json('generation_config.json', generationConfig(shape));
    for (const f of tokenizer.hfFiles) {
      // sources may be read-only (shared/models); the generated directory should not be
      const dst = join(this.tmp, basename(f));
      copyFileSync(f, dst);
      chmodSync(dst, 0o644);
    }
    rmSync(this.path, { recursive: true, force: true });
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    this.writer.abort();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

class GgufOutput implements Output {
  readonly path: string;
  private readonly writer: GgufWriter;
  private readonly types = new Map<PlannedTensor, GgmlType>();
  private scratch = new Float32Array(0);

  constructor(
    readonly format: Exclude<OutputFormat, 'hf'>,
    ctx: OutputContext,
  ) {
    const { shape, plan } = ctx;
    this.path = join(ctx.outDir, outputName(shape, format));
    const { type, fileType } = GGUF_TYPES[format];
    for (const t of plan) {
      const matrixType = t.isOutput && type === GgmlType.Q4_0 ? GgmlType.Q8_0 : type;
      this.types.set(t, t.shape.length === 2 ? matrixType : GgmlType.F32);
    }
    this.writer = GgufWriter.create(
      this.path,
      ggufMetadata(ctx, fileType),
      plan.map((t) => ({ name: t.ggufName, dims: [...t.shape].reverse(), type: this.types.get(t)! })),
    );
  }

  write(t: PlannedTensor, values: Float32Array): void {
    let rows = values;
    if (t.ggufPermuteHeadDim !== undefined) {
      if (this.scratch.length < values.length) this.scratch = new Float32Array(values.length);
      rows = this.scratch.subarray(0, values.length);
      permuteHeadRows(values, rows, colsOf(t), t.ggufPermuteHeadDim);
    }
    this.writer.write(t.ggufName, encode(this.types.get(t)!, rows));
  }

  finish(): void {
    this.writer.finish();
  }

  abort(): void {
    this.writer.abort();
  }
}

/** `llama.*` hyperparameters (models.md §2.2) + general.* + the tokenizer. */
function ggufMetadata(ctx: OutputContext, fileType: number): GgufKv[] {
  const s = ctx.shape;
  const u32 = (key: string, value: number): GgufKv => ({ key: `llama.${key}`, type: 'u32', value });
  const f32 = (key: string, value: number): GgufKv => ({ key: `llama.${key}`, type: 'f32', value });
  const kvs: GgufKv[] = [
    { key: 'general.architecture', type: 'string', value: 'llama' },
    { key: 'general.name', type: 'string', value: `synthetic-${s.name}` },
    { key: 'general.file_type', type: 'u32', value: fileType },
  ];
  if (fileType !== 0 && fileType !== 32) kvs.push({ key: 'general.quantization_version', type: 'u32', value: 2 });
  kvs.push(
    u32('block_count', s.numLayers),
    u32('context_length', s.maxPositionEmbeddings),
    u32('embedding_length', s.hiddenSize),
    u32('feed_forward_length', s.intermediateSize),
    u32('attention.head_count', s.numHeads),
    u32('attention.head_count_kv', s.numKvHeads),
    u32('attention.key_length', s.headDim),
    u32('attention.value_length', s.headDim),
    f32('attention.layer_norm_rms_epsilon', s.rmsNormEps),
    f32('rope.freq_base', s.ropeTheta),
    u32('rope.dimension_count', s.headDim),
    u32('vocab_size', s.vocabSize),
    ...ggufTokenizerKvs(ctx.tokenizer, s.vocabSize, s.family === 'ernie4_5' ? 0 : undefined),
  );
  return kvs;
}
