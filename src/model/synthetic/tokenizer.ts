/**
 * The real tokenizer a synthetic model ships with (default: the 512-token SentencePiece BPE of
 * ../shared/models/stories260K). A source directory holds `hf/tokenizer.json` (+ config files,
 * copied verbatim into the HF output) and one `.gguf` whose `tokenizer.ggml.*` keys are copied into
 * the GGUF outputs, with the token list padded to the model's embedding rows by `[PAD<n>]` tokens
 * (type 5 UNUSED, score −10000) as llama.cpp's converter does for ERNIE (models.md §4.5).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readGguf } from '../gguf.ts';
import type { GgufKv } from '../writers/gguf-writer.ts';

export const DEFAULT_TOKENIZER_DIR = fileURLToPath(new URL('../../../../shared/models/stories260K', import.meta.url));

/** Files copied into the HF directory when present (tokenizer.json is required). */
const HF_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'tokenizer.model'];

const UNUSED = 5;
const PAD_SCORE = -10000;

export interface TokenizerSource {
  dir: string;
  /** absolute paths of the HF tokenizer files to copy */
  hfFiles: string[];
  /** the source GGUF's tokenizer metadata */
  gguf: ReadonlyMap<string, unknown>;
  /** tokenizer_config.json, if any */
  config: Record<string, unknown>;
  /** number of real tokens */
  size: number;
}

export function loadTokenizerSource(dir = DEFAULT_TOKENIZER_DIR): TokenizerSource {
  dir = resolve(dir);
  const hfDir = join(dir, 'hf');
  if (!existsSync(join(hfDir, 'tokenizer.json')))
    throw new Error(`tokenizer source ${dir}: no hf/tokenizer.json (expected the layout of shared/models/stories260K)`);
  const ggufs = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.gguf')) : [];
  if (ggufs.length !== 1)
    throw new Error(`tokenizer source ${dir}: expected exactly one .gguf file, found ${ggufs.length}`);
  const { metadata } = readGguf(join(dir, ggufs[0]));
  const tokens = metadata.get('tokenizer.ggml.tokens');
  if (!Array.isArray(tokens) || tokens.length === 0)
    throw new Error(`tokenizer source ${join(dir, ggufs[0])}: no tokenizer.ggml.tokens`);
  const configPath = join(hfDir, 'tokenizer_config.json');
  const config = existsSync(configPath)
    ? (JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>)
    : {};
  return {
    dir,
    hfFiles: HF_FILES.map((f) => join(hfDir, f)).filter((p) => existsSync(p)),
    gguf: metadata,
    config,
    size: tokens.length,
  };
}

function numbers(v: unknown, n: number, fill: number): number[] {
  return Array.isArray(v) && v.length === n ? (v as number[]) : new Array<number>(n).fill(fill);
}

/**
 * tokenizer.* GGUF keys for a model with `vocabSize` embedding rows. `paddingId`: the config's
 * pad_token_id, if the family has one.
 */
export function ggufTokenizerKvs(src: TokenizerSource, vocabSize: number, paddingId?: number): GgufKv[] {
  const md = src.gguf;
  const n = src.size;
  if (vocabSize < n) throw new Error(`the model's ${vocabSize} embedding rows cannot hold the tokenizer's ${n} tokens`);
  const tokens = (md.get('tokenizer.ggml.tokens') as string[]).slice();
  const scores = numbers(md.get('tokenizer.ggml.scores'), n, 0).slice();
  const types = numbers(md.get('tokenizer.ggml.token_type'), n, 1).slice();
  for (let id = n; id < vocabSize; id++) {
    tokens.push(`[PAD${id}]`);
    scores.push(PAD_SCORE);
    types.push(UNUSED);
  }
  const str = (key: string, fallback: string) => {
    const v = md.get(key);
    return typeof v === 'string' ? v : fallback;
  };
  const kvs: GgufKv[] = [
    { key: 'tokenizer.ggml.model', type: 'string', value: str('tokenizer.ggml.model', 'llama') },
    { key: 'tokenizer.ggml.pre', type: 'string', value: str('tokenizer.ggml.pre', 'default') },
    { key: 'tokenizer.ggml.tokens', type: 'string[]', value: tokens },
    { key: 'tokenizer.ggml.scores', type: 'f32[]', value: scores },
    { key: 'tokenizer.ggml.token_type', type: 'i32[]', value: types },
  ];
  const merges = md.get('tokenizer.ggml.merges');
  if (Array.isArray(merges)) kvs.push({ key: 'tokenizer.ggml.merges', type: 'string[]', value: merges as string[] });
  for (const name of ['bos', 'eos', 'eot', 'eom', 'unknown', 'padding']) {
    const key = `tokenizer.ggml.${name}_token_id`;
    const v = name === 'padding' && paddingId !== undefined ? paddingId : md.get(key);
    if (typeof v === 'number') kvs.push({ key, type: 'u32', value: v });
  }
  // add_bos/add_eos: the GGUF's, else tokenizer_config.json's (stories260K: BOS yes, EOS no)
  for (const name of ['add_bos_token', 'add_eos_token', 'add_space_prefix']) {
    const key = `tokenizer.ggml.${name}`;
    const v = md.get(key) ?? src.config[name];
    if (typeof v === 'boolean') kvs.push({ key, type: 'bool', value: v });
  }
  const template = md.get('tokenizer.chat_template') ?? src.config.chat_template;
  if (typeof template === 'string') kvs.push({ key: 'tokenizer.chat_template', type: 'string', value: template });
  return kvs;
}
