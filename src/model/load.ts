/**
 * Entry point of model loading: decides the format from the path and delegates.
 *
 * Path rules (shared with the CLI through resolve.ts, so the tokenizer and the weights always come
 * from the same place): a `.gguf` file; a directory with config.json (HF or Paddle checkpoint,
 * model.safetensors or model.safetensors.index.json); or a directory holding exactly one `.gguf`.
 *
 * Weights are views into memory-mapped files (see weights-gguf.ts / weights-hf.ts for the
 * Paddle exception); only norms and biases are copied into Float32Array.
 */
import { resolveModelFile } from './resolve.ts';
import type { LoadedModel } from './types.ts';
import { loadGguf } from './weights-gguf.ts';
import { loadHf } from './weights-hf.ts';

export function loadModel(path: string): LoadedModel {
  const file = resolveModelFile(path);
  return file.format === 'hf' ? loadHf(file.path) : loadGguf(file.path);
}
