/**
 * `--quantization wint8|wint4` (FastDeploy's names): weight-only quantization at load time. The
 * linear layers of F32/F16/BF16 checkpoints become Q8_0 (wint8) or Q4_0 (wint4) blocks, which the
 * integer matmul kernels read at a quarter/eighth of F32's bandwidth. The embedding (which is also
 * the LM head when tied) becomes Q8_0 in both modes: it is the largest matrix and feeds every logit,
 * where 4-bit error shows most (llama.cpp also keeps the output matrix at ≥ 6 bits in 4-bit files).
 * Norms and biases stay f32. Already-quantized GGUF tensors are left as they are.
 */
import type { WeightQuantization } from '../config/server-config.ts';
import { GgmlType, type NativeKernels, type WeightMatrix } from '../native/types.ts';
import type { LayerWeights, LoadedModel } from './types.ts';

const FLOAT_TYPES = new Set([GgmlType.F32, GgmlType.F16, GgmlType.BF16]);
/** Rows converted per batch: bounds the f32 scratch to a few MB whatever the matrix size. */
const ROWS_PER_BATCH = 256;

/** Returns the model with its float linear weights (and embedding) quantized; other fields are shared. */
export function quantizeModel(model: LoadedModel, mode: WeightQuantization, kernels: Pick<NativeKernels, 'getRows' | 'quantize'>): LoadedModel {
  const linear = mode === 'wint8' ? GgmlType.Q8_0 : GgmlType.Q4_0;
  const cache = new Map<WeightMatrix, WeightMatrix>();
  const q = (w: WeightMatrix, type: GgmlType): WeightMatrix => {
    let out = cache.get(w);
    if (!out) {
      out = quantizeMatrix(w, type, kernels);
      cache.set(w, out); // tied embeddings: the LM head is the same object and is converted once
    }
    return out;
  };
  const layers = model.weights.layers.map(
    (l): LayerWeights => ({
      ...l,
      wq: q(l.wq, linear),
      wk: q(l.wk, linear),
      wv: q(l.wv, linear),
      wo: q(l.wo, linear),
      wGate: q(l.wGate, linear),
      wUp: q(l.wUp, linear),
      wDown: q(l.wDown, linear),
    }),
  );
  const embedding = q(model.weights.embedding, GgmlType.Q8_0);
  const lmHead = q(model.weights.lmHead, GgmlType.Q8_0);
  return { ...model, weights: { ...model.weights, layers, embedding, lmHead } };
}

/** One matrix to `type`; non-float inputs and rows not divisible into 32-element blocks stay as they are. */
function quantizeMatrix(w: WeightMatrix, type: GgmlType, kernels: Pick<NativeKernels, 'getRows' | 'quantize'>): WeightMatrix {
  if (!FLOAT_TYPES.has(w.type) || w.cols % 32 !== 0) return w;
  const rowBytes = (w.cols / 32) * (type === GgmlType.Q8_0 ? 34 : 18);
  const data = new Uint8Array(w.rows * rowBytes);
  for (let r0 = 0; r0 < w.rows; r0 += ROWS_PER_BATCH) {
    const n = Math.min(ROWS_PER_BATCH, w.rows - r0);
    const ids = Int32Array.from({ length: n }, (_, i) => r0 + i);
    const rows = new Float32Array(n * w.cols);
    kernels.getRows(rows, w, ids); // dequantizes F16/BF16 natively
    data.set(kernels.quantize(type as GgmlType.Q8_0 | GgmlType.Q4_0, rows), r0 * rowBytes);
  }
  return { type, rows: w.rows, cols: w.cols, data };
}
