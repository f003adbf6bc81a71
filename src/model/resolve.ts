import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface ModelFile {
  /** 'hf': a directory with config.json + safetensors; 'gguf': one GGUF file */
  format: 'hf' | 'gguf';
  /** the directory (hf) or the file (gguf) */
  path: string;
}

/** Works out what a --model value points at: an HF directory, a .gguf file, or a directory holding one .gguf. */
export function resolveModelFile(path: string): ModelFile {
  if (!existsSync(path)) throw new Error(`model path ${path} does not exist (tsdeploy loads local models only)`);
  if (statSync(path).isFile()) {
    if (path.endsWith('.gguf')) return { format: 'gguf', path };
    throw new Error(`model file ${path} is not a .gguf file; pass a GGUF file or a Hugging Face model directory`);
  }
  if (existsSync(join(path, 'config.json'))) return { format: 'hf', path };
  const ggufs = readdirSync(path).filter((f) => f.endsWith('.gguf'));
  if (ggufs.length === 1) return { format: 'gguf', path: join(path, ggufs[0]) };
  if (ggufs.length > 1) throw new Error(`model directory ${path} holds several GGUF files (${ggufs.join(', ')}); pass one`);
  throw new Error(`model directory ${path} has neither config.json nor a .gguf file`);
}
