/**
 * GGUF → ModelSpec (from `{arch}.*` keys, models.md §2.2) and → ModelWeights (tensor names §2.3).
 *
 * Every matrix is a zero-copy view into the memory-mapped file. GGUF dims are the PyTorch shape
 * reversed: ne = [cols, rows]. `llama` GGUFs carry llama.cpp's q/k row permutation (§2.4), which
 * turns HF's half-split pairs into adjacent pairs, so they are used as-is with interleaved RoPE.
 */
import { type GgmlType, RopePairing, type WeightMatrix } from '../native/types.ts';
import { type GgufFile, type GgufTensorInfo, readGguf } from './gguf.ts';
import { ropeInvFreq } from './hf-config.ts';
import type { Architecture, LoadedModel, ModelSpec } from './types.ts';
import { checkGgmlType, decodeToF32, rowBytes, shortestF32 } from './weights-format.ts';
import { loadLayer, missingTensor, type TensorSource } from './weights-common.ts';
import { mapFileReadOnly } from './weights-mmap.ts';

/** GGUF architecture → (family, pairing of the weights as stored in GGUF). */
const GGUF_ARCHITECTURES: Record<string, { architecture: Architecture; ropePairing: RopePairing }> = {
  llama: { architecture: 'llama', ropePairing: RopePairing.Interleaved },
  qwen2: { architecture: 'qwen2', ropePairing: RopePairing.HalfSplit },
  qwen3: { architecture: 'qwen3', ropePairing: RopePairing.HalfSplit },
  ernie4_5: { architecture: 'ernie4_5', ropePairing: RopePairing.Interleaved },
};

export const SUPPORTED_GGUF_ARCHITECTURES = Object.keys(GGUF_ARCHITECTURES);

class GgufSource implements TensorSource {
  private readonly byName: Map<string, GgufTensorInfo>;
  private file: ArrayBuffer | undefined;

  constructor(
    readonly path: string,
    readonly gguf: GgufFile,
  ) {
    this.byName = new Map(gguf.tensors.map((t) => [t.name, t]));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): GgufTensorInfo {
    const t = this.byName.get(name);
    if (!t) throw missingTensor(name, this.path);
    return t;
  }

  /** The tensor's bytes as a view of the mapping; the range is checked against the file size. */
  private bytes(t: GgufTensorInfo, type: GgmlType, rows: number, cols: number): Uint8Array {
    this.file ??= mapFileReadOnly(this.path);
    const size = rows * rowBytes(t.name, type, cols);
    const start = this.gguf.dataOffset + t.offset;
    if (start + size > this.file.byteLength)
      throw new Error(`${this.path}: tensor ${t.name} extends past the end of the file (truncated?)`);
    return new Uint8Array(this.file, start, size);
  }

  /** ne → [rows, cols]: ne[0] is the row length; trailing 1s are ignored. */
  private shape(t: GgufTensorInfo): [number, number] {
    const dims = t.dims.slice();
    while (dims.length > 2 && dims[dims.length - 1] === 1) dims.pop();
    if (dims.length > 2) throw new Error(`tensor ${t.name} has ${dims.length} dimensions, expected a matrix`);
    return [dims[1] ?? 1, dims[0] ?? 1];
  }

  matrix(name: string, rows: number, cols: number): WeightMatrix {
    const t = this.info(name);
    const type = checkGgmlType(name, t.type);
    const [r, c] = this.shape(t);
    if (r !== rows || c !== cols)
      throw new Error(`tensor ${name} has ne [${t.dims.join(', ')}], expected [${cols}, ${rows}]`);
    return { type, rows, cols, data: this.bytes(t, type, rows, cols) };
  }

  vector(name: string, n: number): Float32Array {
    const t = this.info(name);
    const type = checkGgmlType(name, t.type);
    const len = t.dims.reduce((a, b) => a * b, 1);
    if (len !== n) throw new Error(`tensor ${name} has ${len} elements, expected ${n}`);
    return decodeToF32(name, type, this.bytes(t, type, 1, n), n);
  }
}

function getNum(g: GgufFile, key: string, fallback?: number): number {
  let v = g.metadata.get(key);
  // some archs store per-layer arrays (e.g. head_count_kv); we need them uniform
  if (Array.isArray(v)) {
    const arr: unknown[] = v;
    if (arr.length === 0 || arr.some((x) => x !== arr[0]))
      throw new Error(`GGUF key ${key}: per-layer values ${JSON.stringify(arr)} are not supported`);
    v = arr[0];
  }
  if (typeof v === 'number') return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new Error(`GGUF key ${key} is ${v === undefined ? 'missing' : `not a number (${JSON.stringify(v)})`}`);
}

/** Build the ModelSpec; `src` supplies the embedding shape (vocab rows) and the optional rope_freqs tensor. */
function specFromGguf(g: GgufFile, src: GgufSource): ModelSpec {
  const archName = g.metadata.get('general.architecture');
  const arch = typeof archName === 'string' ? GGUF_ARCHITECTURES[archName] : undefined;
  if (!arch) {
    throw new Error(
      `${src.path}: unsupported GGUF architecture ${JSON.stringify(archName)} (supported: ${SUPPORTED_GGUF_ARCHITECTURES.join(', ')})`,
    );
  }
  const k = (key: string) => `${archName}.${key}`;
  const hiddenSize = getNum(g, k('embedding_length'));
  const numHeads = getNum(g, k('attention.head_count'));
  const headDim = getNum(g, k('attention.key_length'), hiddenSize / numHeads);
  const valueDim = getNum(g, k('attention.value_length'), headDim);
  if (valueDim !== headDim)
    throw new Error(`${src.path}: key_length ${headDim} ≠ value_length ${valueDim} is not supported`);
  const ropeDim = getNum(g, k('rope.dimension_count'), headDim);
  if (ropeDim !== headDim)
    throw new Error(
      `${src.path}: partial rotary embedding (rope.dimension_count ${ropeDim} < head dim ${headDim}) is not supported`,
    );

  const ropeTheta = shortestF32(getNum(g, k('rope.freq_base'), 10000));
  let invFreq = ropeInvFreq(ropeTheta, headDim);
  const scalingType = g.metadata.get(k('rope.scaling.type'));
  if (scalingType === 'linear') {
    const factor = getNum(g, k('rope.scaling.factor'));
    invFreq = invFreq.map((x) => Math.fround(x / factor));
  } else if (scalingType !== undefined && scalingType !== 'none') {
    throw new Error(
      `${src.path}: rope scaling type ${JSON.stringify(scalingType)} is not supported (supported: none, linear, rope_freqs tensor)`,
    );
  }
  // Llama 3: per-pair divisors stored as a tensor (§2.6)
  if (src.has('rope_freqs.weight')) {
    const factors = src.vector('rope_freqs.weight', headDim / 2);
    invFreq = invFreq.map((x, i) => Math.fround(x / factors[i]));
  }

  const embd = src.info('token_embd.weight');
  const eos: number[] = [];
  for (const key of ['tokenizer.ggml.eos_token_id', 'tokenizer.ggml.eot_token_id', 'tokenizer.ggml.eom_token_id']) {
    const v = g.metadata.get(key);
    if (typeof v === 'number' && !eos.includes(v)) eos.push(v);
  }
  const bos = g.metadata.get('tokenizer.ggml.bos_token_id');
  return {
    architecture: arch.architecture,
    hiddenSize,
    numLayers: getNum(g, k('block_count')),
    numHeads,
    numKvHeads: getNum(g, k('attention.head_count_kv'), numHeads),
    headDim,
    intermediateSize: getNum(g, k('feed_forward_length')),
    // embedding rows, which may exceed the token list (padding rows)
    vocabSize: embd.dims[1] ?? 0,
    maxPositionEmbeddings: getNum(g, k('context_length')),
    rmsNormEps: shortestF32(getNum(g, k('attention.layer_norm_rms_epsilon'))),
    ropeTheta,
    ropePairing: arch.ropePairing,
    ropeInvFreq: invFreq,
    tieWordEmbeddings: !src.has('output.weight'),
    bosTokenId: typeof bos === 'number' ? bos : undefined,
    eosTokenIds: eos,
  };
}

/** Load a single-file GGUF model. */
export function loadGguf(path: string): LoadedModel {
  const gguf = readGguf(path);
  const splits = gguf.metadata.get('split.count');
  if (typeof splits === 'number' && splits > 1)
    throw new Error(`${path}: split GGUF files (${splits} parts) are not supported; merge them first`);
  const src = new GgufSource(path, gguf);
  const spec = specFromGguf(gguf, src);
  const H = spec.hiddenSize;
  const embedding = src.matrix('token_embd.weight', spec.vocabSize, H);
  const layers = [];
  for (let i = 0; i < spec.numLayers; i++) {
    const p = `blk.${i}.`;
    layers.push(
      loadLayer(src, spec, {
        attnNorm: `${p}attn_norm.weight`,
        wq: `${p}attn_q.weight`,
        wk: `${p}attn_k.weight`,
        wv: `${p}attn_v.weight`,
        wo: `${p}attn_output.weight`,
        bq: `${p}attn_q.bias`,
        bk: `${p}attn_k.bias`,
        bv: `${p}attn_v.bias`,
        qNorm: `${p}attn_q_norm.weight`,
        kNorm: `${p}attn_k_norm.weight`,
        ffnNorm: `${p}ffn_norm.weight`,
        wGate: `${p}ffn_gate.weight`,
        wUp: `${p}ffn_up.weight`,
        wDown: `${p}ffn_down.weight`,
        unsupported: [`${p}attn_output.bias`, `${p}ffn_gate_inp.weight`, `${p}ffn_down.bias`],
      }),
    );
  }
  const finalNorm = src.vector('output_norm.weight', H);
  const lmHead = spec.tieWordEmbeddings ? embedding : src.matrix('output.weight', spec.vocabSize, H);
  return { path, format: 'gguf', spec, weights: { embedding, layers, finalNorm, lmHead } };
}
