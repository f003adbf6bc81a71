// Shared fixtures for the text tests: the model folder beside the repository and GGUF metadata.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readGguf } from '../../src/model/gguf.ts';

export const MODELS = fileURLToPath(new URL('../../../shared/models/', import.meta.url));
export const STORIES = `${MODELS}stories260K/`;

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export interface TokGolden {
  text: string;
  ids: number[];
  pieces: string[];
}
export interface GenGolden {
  prompt: string;
  prompt_ids: number[];
  completion_ids: number[];
  completion_text?: string;
}

export function ggufMetadata(path: string): Map<string, unknown> {
  return readGguf(path).metadata;
}
