/**
 * Entry point of model loading: decides the format from the path and delegates.
 *
 * - a `.gguf` file → GGUF loader
 * - a directory with config.json and model.safetensors(.index.json) → HF loader (also Paddle ERNIE)
 * - a directory containing exactly one `.gguf` (and no HF checkpoint) → GGUF loader
 *
 * Weights are views into memory-mapped files (see weights-gguf.ts / weights-hf.ts for the
 * exceptions); only norms and biases are copied into Float32Array.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedModel } from './types.ts';
import { loadGguf } from './weights-gguf.ts';
import { loadHf } from './weights-hf.ts';

function hasHfCheckpoint(dir: string): boolean {
  return (
    existsSync(join(dir, 'config.json')) &&
    (existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json')))
  );
}

export function loadModel(path: string): LoadedModel {
  if (!existsSync(path)) throw new Error(`model path ${path} does not exist`);
  if (!statSync(path).isDirectory()) {
    if (path.endsWith('.gguf')) return loadGguf(path);
    throw new Error(`${path}: expected a .gguf file or a model directory`);
  }
  if (hasHfCheckpoint(path)) return loadHf(path);
  const ggufs = readdirSync(path).filter((f) => f.endsWith('.gguf'));
  if (ggufs.length === 1) return loadGguf(join(path, ggufs[0]));
  if (ggufs.length > 1)
    throw new Error(`${path}: contains ${ggufs.length} .gguf files (${ggufs.join(', ')}); pass one of them`);
  throw new Error(`${path}: no model found (need config.json + model.safetensors[.index.json], or one .gguf file)`);
}
