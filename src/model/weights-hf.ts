/**
 * Hugging Face directory (config.json + safetensors) → LoadedModel, including Paddle ERNIE
 * checkpoints (models.md §1.9, §1.10).
 *
 * HF/PT layout: `model.` names, linears [out, in] = WeightMatrix [rows, cols] directly, so every
 * matrix is a zero-copy view into the memory-mapped file.
 *
 * Paddle layout: `ernie.` names, linears stored [in, out], q/k/v fused into `qkv_proj` (columns
 * Q ‖ K ‖ V) and gate/up into `up_gate_proj` (columns gate ‖ up — gate FIRST despite the name).
 * The kernels want [out, in] rows, so each linear is transposed into a new buffer here, keeping its
 * element type (bf16 stays bf16: no extra rounding, same size as the file). That copy is
 * unavoidable for this layout; the embedding and norms need no transpose (embedding stays a view).
 * Paddle bf16 tensors are tagged `U16` in the safetensors header and are read as BF16.
 */
import { GgmlType, type WeightMatrix } from '../native/types.ts';
import { readHfSpec } from './hf-config.ts';
import { openSafetensors, type SafetensorsModel, type SafetensorsTensor } from './safetensors.ts';
import type { LoadedModel, ModelSpec } from './types.ts';
import { checkShape, loadLayer, missingTensor, type TensorSource } from './weights-common.ts';
import { decodeToF32, transposeColumns } from './weights-format.ts';
import { mapFileReadOnly } from './weights-mmap.ts';

/** safetensors dtype → ggml type of the same bytes. U16 is Paddle's tag for bf16 bit patterns. */
const DTYPES: Record<string, GgmlType> = {
  F32: GgmlType.F32,
  F16: GgmlType.F16,
  BF16: GgmlType.BF16,
  U16: GgmlType.BF16,
};

interface RawTensor {
  type: GgmlType;
  shape: number[];
  bytes: Uint8Array;
}

/** Tensors of a safetensors model by their stored names, as mapped views. */
class SafetensorsSource implements TensorSource {
  private readonly maps = new Map<string, ArrayBuffer>();

  constructor(
    readonly where: string,
    readonly st: SafetensorsModel,
  ) {}

  has(name: string): boolean {
    return this.st.tensors.has(name);
  }

  raw(name: string): RawTensor {
    const t: SafetensorsTensor | undefined = this.st.tensors.get(name);
    if (!t) throw missingTensor(name, this.where);
    const type = DTYPES[t.dtype];
    if (type === undefined)
      throw new Error(`tensor ${name} has unsupported dtype ${t.dtype} (supported: F32, F16, BF16, U16 as BF16)`);
    let map = this.maps.get(t.file);
    if (!map) {
      map = mapFileReadOnly(t.file);
      this.maps.set(t.file, map);
    }
    if (t.end > map.byteLength) throw new Error(`${t.file}: tensor ${name} extends past the end of the file`);
    return { type, shape: t.shape, bytes: new Uint8Array(map, t.begin, t.end - t.begin) };
  }

  matrix(name: string, rows: number, cols: number): WeightMatrix {
    const t = this.raw(name);
    checkShape(name, t.shape, rows, cols);
    return { type: t.type, rows, cols, data: t.bytes };
  }

  vector(name: string, n: number): Float32Array {
    const t = this.raw(name);
    const len = t.shape.reduce((a, b) => a * b, 1);
    if (len !== n) throw new Error(`tensor ${name} has shape [${t.shape.join(', ')}], expected ${n} elements`);
    return decodeToF32(name, t.type, t.bytes, n);
  }
}

const elemSize = (type: GgmlType): number => (type === GgmlType.F32 ? 4 : 2);

/**
 * Presents a Paddle checkpoint under HF-style per-projection names with [out, in] matrices:
 * `…self_attn.{q,k,v}_proj.weight` and `…mlp.{gate,up}_proj.weight` are cut from the fused tensors
 * when those exist, and every linear is transposed (copied).
 */
class PaddleSource implements TensorSource {
  constructor(
    private readonly base: SafetensorsSource,
    private readonly spec: ModelSpec,
  ) {}

  /** For a split projection name: the fused tensor, its column offset and total width. */
  private fused(name: string): { fused: string; col0: number; total: number } | undefined {
    const { numHeads: nh, numKvHeads: nkv, headDim: hd, intermediateSize: I } = this.spec;
    let m = /^(.*)\.self_attn\.([qkv])_proj\.weight$/.exec(name);
    if (m) {
      const col0 = { q: 0, k: nh * hd, v: (nh + nkv) * hd }[m[2] as 'q' | 'k' | 'v'];
      return { fused: `${m[1]}.self_attn.qkv_proj.weight`, col0, total: (nh + 2 * nkv) * hd };
    }
    m = /^(.*)\.mlp\.(gate|up)_proj\.weight$/.exec(name);
    if (m) return { fused: `${m[1]}.mlp.up_gate_proj.weight`, col0: m[2] === 'gate' ? 0 : I, total: 2 * I };
    return undefined;
  }

  has(name: string): boolean {
    if (this.base.has(name)) return true;
    const f = this.fused(name);
    return f !== undefined && this.base.has(f.fused);
  }

  matrix(name: string, rows: number, cols: number): WeightMatrix {
    const f = this.fused(name);
    if (f && !this.base.has(name) && this.base.has(f.fused)) {
      const t = this.base.raw(f.fused);
      checkShape(f.fused, t.shape, cols, f.total);
      return {
        type: t.type,
        rows,
        cols,
        data: transposeColumns(t.bytes, cols, f.total, f.col0, rows, elemSize(t.type)),
      };
    }
    const t = this.base.raw(name);
    checkShape(name, t.shape, cols, rows); // stored [in, out]
    return { type: t.type, rows, cols, data: transposeColumns(t.bytes, cols, rows, 0, rows, elemSize(t.type)) };
  }

  vector(name: string, n: number): Float32Array {
    return this.base.vector(name, n);
  }
}

/** Paddle detection rule of models.md §1.10. */
function isPaddle(names: Iterable<string>): boolean {
  for (const n of names) {
    if (n.startsWith('ernie.') || n.includes('.qkv_proj.') || n.includes('.up_gate_proj.')) return true;
  }
  return false;
}

/** Load an HF (or Paddle ERNIE) model directory. */
export function loadHf(dir: string): LoadedModel {
  const { spec } = readHfSpec(dir);
  const st = openSafetensors(dir);
  const base = new SafetensorsSource(dir, st);
  const paddle = isPaddle(st.tensors.keys());
  if (paddle && spec.architecture !== 'ernie4_5') {
    throw new Error(
      `${dir}: Paddle-layout tensors (ernie. / qkv_proj / up_gate_proj) in a ${spec.architecture} checkpoint`,
    );
  }
  const prefix = base.has('ernie.embed_tokens.weight') ? 'ernie.' : 'model.';
  const src: TensorSource = paddle ? new PaddleSource(base, spec) : base;
  const H = spec.hiddenSize;

  // vocabSize = embedding rows (ERNIE/Qwen pad them beyond the tokenizer)
  const embName = `${prefix}embed_tokens.weight`;
  const emb = base.raw(embName);
  if (emb.shape.length !== 2 || emb.shape[1] !== H)
    throw new Error(`tensor ${embName} has shape [${emb.shape.join(', ')}], expected [vocab, ${H}]`);
  spec.vocabSize = emb.shape[0];
  const embedding = base.matrix(embName, spec.vocabSize, H);

  const layers = [];
  for (let i = 0; i < spec.numLayers; i++) {
    const p = `${prefix}layers.${i}.`;
    layers.push(
      loadLayer(src, spec, {
        attnNorm: `${p}input_layernorm.weight`,
        wq: `${p}self_attn.q_proj.weight`,
        wk: `${p}self_attn.k_proj.weight`,
        wv: `${p}self_attn.v_proj.weight`,
        wo: `${p}self_attn.o_proj.weight`,
        bq: `${p}self_attn.q_proj.bias`,
        bk: `${p}self_attn.k_proj.bias`,
        bv: `${p}self_attn.v_proj.bias`,
        qNorm: `${p}self_attn.q_norm.weight`,
        kNorm: `${p}self_attn.k_norm.weight`,
        ffnNorm: `${p}post_attention_layernorm.weight`,
        wGate: `${p}mlp.gate_proj.weight`,
        wUp: `${p}mlp.up_proj.weight`,
        wDown: `${p}mlp.down_proj.weight`,
        unsupported: [
          `${p}self_attn.o_proj.bias`,
          `${p}self_attn.qkv_proj.bias`,
          `${p}mlp.gate_proj.bias`,
          `${p}mlp.up_proj.bias`,
          `${p}mlp.down_proj.bias`,
          `${p}mlp.gate.weight`,
        ],
      }),
    );
  }
  const finalNorm = src.vector(`${prefix}norm.weight`, H);

  // Tied: the embedding is the LM head even if a (duplicate) lm_head.weight is stored (Qwen3-0.6B).
  let lmHead = embedding;
  if (!spec.tieWordEmbeddings) {
    const V = spec.vocabSize;
    // Paddle stores an untied head [H, V] (transpose); a head already [V, H] is used as-is
    const t = base.raw('lm_head.weight');
    const transposed = paddle && t.shape[0] === H && t.shape[1] === V && V !== H;
    lmHead = transposed ? src.matrix('lm_head.weight', V, H) : base.matrix('lm_head.weight', V, H);
  }
  return { path: dir, format: 'hf', spec, weights: { embedding, layers, finalNorm, lmHead } };
}
