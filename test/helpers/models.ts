import { fileURLToPath } from 'node:url';

/** ../shared/models beside the repository checkout (never copied into the repo). */
export const SHARED_MODELS = fileURLToPath(new URL('../../../shared/models/', import.meta.url));

export const STORIES_HF = `${SHARED_MODELS}stories260K/hf`;
export const STORIES_GGUF = `${SHARED_MODELS}stories260K/stories260K.gguf`;
export const SYNTHETIC = (name: string): string => `${SHARED_MODELS}synthetic/${name}`;
