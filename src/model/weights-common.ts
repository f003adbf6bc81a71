/**
 * Assembling ModelWeights from any named-tensor source, so the GGUF and HF loaders only differ in
 * how names map to tensors and how bytes are found.
 */
import type { WeightMatrix } from '../native/types.ts';
import type { LayerWeights, ModelSpec } from './types.ts';

/** A loader's view of its file(s): shaped tensors by (format-specific) name. */
export interface TensorSource {
  has(name: string): boolean;
  /** A [rows × cols] matrix as a view into the mapped file; throws naming the tensor if missing or mis-shaped. */
  matrix(name: string, rows: number, cols: number): WeightMatrix;
  /** A length-n vector copied into a Float32Array (decoded from F16/BF16 if needed). */
  vector(name: string, n: number): Float32Array;
}

export function missingTensor(name: string, where: string): Error {
  return new Error(`${where}: missing tensor ${name}`);
}

export function checkShape(name: string, got: number[], rows: number, cols: number): void {
  if (got.length !== 2 || got[0] !== rows || got[1] !== cols) {
    throw new Error(`tensor ${name} has shape [${got.join(', ')}], expected [${rows}, ${cols}] (rows, cols)`);
  }
}

/** Per-layer tensor names in one naming scheme. */
export interface LayerNames {
  attnNorm: string;
  wq: string;
  wk: string;
  wv: string;
  wo: string;
  bq: string;
  bk: string;
  bv: string;
  qNorm: string;
  kNorm: string;
  ffnNorm: string;
  wGate: string;
  wUp: string;
  wDown: string;
  /** tensors the contract has no slot for; their presence would silently change the math */
  unsupported: string[];
}

/** Load one decoder layer with shapes checked against the spec. Biases / q-k norms are taken when present. */
export function loadLayer(src: TensorSource, spec: ModelSpec, n: LayerNames): LayerWeights {
  const { hiddenSize: H, numHeads, numKvHeads, headDim: hd, intermediateSize: I } = spec;
  for (const name of n.unsupported) {
    if (src.has(name)) throw new Error(`tensor ${name} is not supported by the ${spec.architecture} forward pass`);
  }
  const layer: LayerWeights = {
    attnNorm: src.vector(n.attnNorm, H),
    wq: src.matrix(n.wq, numHeads * hd, H),
    wk: src.matrix(n.wk, numKvHeads * hd, H),
    wv: src.matrix(n.wv, numKvHeads * hd, H),
    wo: src.matrix(n.wo, H, numHeads * hd),
    ffnNorm: src.vector(n.ffnNorm, H),
    wGate: src.matrix(n.wGate, I, H),
    wUp: src.matrix(n.wUp, I, H),
    wDown: src.matrix(n.wDown, H, I),
  };
  // Qwen2 always has q/k/v biases; other Llama-family checkpoints may (attention_bias: true)
  if (spec.architecture === 'qwen2' || src.has(n.bq)) {
    layer.bq = src.vector(n.bq, numHeads * hd);
    layer.bk = src.vector(n.bk, numKvHeads * hd);
    layer.bv = src.vector(n.bv, numKvHeads * hd);
  }
  if (spec.architecture === 'qwen3') {
    layer.qNorm = src.vector(n.qNorm, hd);
    layer.kNorm = src.vector(n.kNorm, hd);
  }
  return layer;
}
