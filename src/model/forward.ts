import type { KvCacheArray, NativeKernels } from '../native/types.ts';
import { packModel } from './pack.ts';
import type { LayerWeights, LoadedModel, ModelSpec } from './types.ts';

/**
 * One step's worth of tokens, possibly from many sequences (prefill chunks and decodes mixed),
 * flattened into a single batch so every weight matrix is streamed once per step.
 */
export interface ForwardBatch {
  /** token ids [T] */
  tokens: Int32Array;
  /** absolute position of each token in its sequence [T] */
  positions: Int32Array;
  /** index of each token's sequence in blockTables [T] */
  tokenSeq: Int32Array;
  /** KV slot (block · blockSize + offset) each token's k/v is written to [T] */
  slots: Int32Array;
  /** [numSeqs × maxBlocksPerSeq] */
  blockTables: Int32Array;
  maxBlocksPerSeq: number;
  /** token indices whose logits are wanted (typically the last token of each sequence) */
  logitRows: Int32Array;
}

/** The per-layer K and V caches the forward pass writes to and attends over (f32 or f16 values). */
export interface KvStorage {
  readonly blockSize: number;
  keys(layer: number): KvCacheArray;
  values(layer: number): KvCacheArray;
}

/** Reusable activation buffers, grown on demand so steady-state decoding allocates nothing. */
class Scratch {
  private buffers = new Map<string, Float32Array>();
  get(name: string, length: number): Float32Array {
    let b = this.buffers.get(name);
    if (!b || b.length < length) {
      b = new Float32Array(Math.max(length, (b?.length ?? 0) * 2));
      this.buffers.set(name, b);
    }
    return b.subarray(0, length);
  }
}

/** Decoder-only transformer forward pass (Llama/Qwen2/Qwen3/ERNIE-4.5 dense share this skeleton). */
export class Transformer {
  readonly spec: ModelSpec;
  private readonly scratch = new Scratch();

  private readonly model: LoadedModel;

  constructor(
    model: LoadedModel,
    private readonly k: NativeKernels,
  ) {
    this.spec = model.spec;
    this.model = packModel(model, k);
  }

  /** Runs the batch through the model, filling the KV cache; returns logits [logitRows.length × vocabSize]. */
  forward(batch: ForwardBatch, kv: KvStorage): Float32Array {
    const { spec, k, scratch } = this;
    const T = batch.tokens.length;
    const H = spec.hiddenSize;
    const x = scratch.get('x', T * H);
    k.getRows(x, this.model.weights.embedding, batch.tokens);
    for (let l = 0; l < spec.numLayers; l++) this.layer(l, this.model.weights.layers[l], x, T, batch, kv);

    const n = batch.logitRows.length;
    const last = scratch.get('last', n * H);
    for (let i = 0; i < n; i++) last.set(x.subarray(batch.logitRows[i] * H, (batch.logitRows[i] + 1) * H), i * H);
    k.rmsNorm(last, last, this.model.weights.finalNorm, n, H, spec.rmsNormEps);
    const logits = new Float32Array(n * spec.vocabSize);
    k.matmul(logits, last, n, this.model.weights.lmHead);
    return logits;
  }

  private layer(l: number, w: LayerWeights, x: Float32Array, T: number, batch: ForwardBatch, kv: KvStorage): void {
    const { spec, k, scratch } = this;
    const H = spec.hiddenSize;
    const hd = spec.headDim;
    const qWidth = spec.numHeads * hd;
    const kvWidth = spec.numKvHeads * hd;

    const xn = scratch.get('xn', T * H);
    k.rmsNorm(xn, x, w.attnNorm, T, H, spec.rmsNormEps);
    const q = scratch.get('q', T * qWidth);
    const kk = scratch.get('k', T * kvWidth);
    const v = scratch.get('v', T * kvWidth);
    k.matmul(q, xn, T, w.wq);
    k.matmul(kk, xn, T, w.wk);
    k.matmul(v, xn, T, w.wv);
    if (w.bq) addBias(q, w.bq, T);
    if (w.bk) addBias(kk, w.bk, T);
    if (w.bv) addBias(v, w.bv, T);
    // Qwen3 normalises each head vector before RoPE.
    if (w.qNorm) k.rmsNorm(q, q, w.qNorm, T * spec.numHeads, hd, spec.rmsNormEps);
    if (w.kNorm) k.rmsNorm(kk, kk, w.kNorm, T * spec.numKvHeads, hd, spec.rmsNormEps);
    k.rope(q, T, spec.numHeads, hd, batch.positions, spec.ropeInvFreq, spec.ropePairing);
    k.rope(kk, T, spec.numKvHeads, hd, batch.positions, spec.ropeInvFreq, spec.ropePairing);

    const kc = kv.keys(l);
    const vc = kv.values(l);
    k.kvStore(kc, vc, kk, v, T, kvWidth, batch.slots);
    const attn = scratch.get('attn', T * qWidth);
    k.attention(attn, q, kc, vc, T, spec.numHeads, spec.numKvHeads, hd, 1 / Math.sqrt(hd), {
      tokenSeq: batch.tokenSeq,
      tokenPos: batch.positions,
      blockTables: batch.blockTables,
      maxBlocksPerSeq: batch.maxBlocksPerSeq,
      blockSize: kv.blockSize,
    });
    const o = scratch.get('o', T * H);
    k.matmul(o, attn, T, w.wo);
    k.add(x, o, T * H);

    k.rmsNorm(xn, x, w.ffnNorm, T, H, spec.rmsNormEps);
    const I = spec.intermediateSize;
    const gate = scratch.get('gate', T * I);
    const up = scratch.get('up', T * I);
    k.matmul(gate, xn, T, w.wGate);
    k.matmul(up, xn, T, w.wUp);
    k.swiglu(gate, gate, up, T * I);
    k.matmul(o, gate, T, w.wDown);
    k.add(x, o, T * H);
  }
}

function addBias(y: Float32Array, bias: Float32Array, T: number): void {
  const n = bias.length;
  for (let t = 0; t < T; t++) {
    const base = t * n;
    for (let i = 0; i < n; i++) y[base + i] += bias[i];
  }
}
