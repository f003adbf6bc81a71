/**
 * Weights prepared for the kernels once at load: Q8_0/Q4_0 matrices gain the row-interleaved layout
 * the integer matmul reads (NativeKernels.packWeights; native/qmatmul.h). The natural layout stays
 * for the embedding lookup (getRows); a tied LM head shares the embedding's bytes and gets its own
 * packed copy. Other types pass through untouched.
 */
import type { NativeKernels, WeightMatrix } from '../native/types.ts';
import type { LayerWeights, LoadedModel } from './types.ts';

export function packModel(model: LoadedModel, kernels: Pick<NativeKernels, 'packWeights'>): LoadedModel {
  const pack = (w: WeightMatrix): WeightMatrix => (w.packed ? w : kernels.packWeights(w));
  const layers = model.weights.layers.map(
    (l): LayerWeights => ({
      ...l,
      wq: pack(l.wq),
      wk: pack(l.wk),
      wv: pack(l.wv),
      wo: pack(l.wo),
      wGate: pack(l.wGate),
      wUp: pack(l.wUp),
      wDown: pack(l.wDown),
    }),
  );
  return { ...model, weights: { ...model.weights, layers, lmHead: pack(model.weights.lmHead) } };
}
