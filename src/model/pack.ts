/**
 * Weights prepared for the kernels once at load: Q8_0/Q4_0 matrices gain the row-interleaved layout
 * the integer matmul reads (NativeKernels.packWeights; native/qmatmul.h). The natural layout stays
 * for the embedding lookup (getRows); a tied LM head shares the embedding's bytes and gets its own
 * packed copy. Other types pass through untouched. The file pages of a packed matrix nobody else
 * reads are handed back to the OS (they were touched once, to pack), so resident memory stays near
 * the packed size instead of file + packed.
 */
import type { NativeKernels, WeightMatrix } from '../native/types.ts';
import type { LayerWeights, LoadedModel } from './types.ts';

export function packModel(
  model: LoadedModel,
  kernels: Pick<NativeKernels, 'packWeights'> & Partial<Pick<NativeKernels, 'releasePages'>>,
): LoadedModel {
  const embeddingData = model.weights.embedding.data;
  const pack = (w: WeightMatrix): WeightMatrix => {
    if (w.packed) return w;
    const packed = kernels.packWeights(w);
    if (packed.packed && w.data !== embeddingData) kernels.releasePages?.(w.data);
    return packed;
  };
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
