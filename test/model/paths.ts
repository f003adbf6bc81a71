/** Locations of the shared test models (../shared/models beside the repository root). */
import { fileURLToPath } from 'node:url';

export const MODELS_DIR = fileURLToPath(new URL('../../../shared/models/', import.meta.url));

export function modelPath(rel: string): string {
  return MODELS_DIR + rel;
}
