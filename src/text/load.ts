// Entry points that turn tokenizer files into a Tokenizer (contract in types.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HfTokenizer } from './hf-tokenizer.ts';

export { GgufTokenizer, loadGgufTokenizer } from './gguf-tokenizer.ts';
export { HfTokenizer } from './hf-tokenizer.ts';

function readText(dir: string, name: string): string | undefined {
  const p = join(dir, name);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}

function readJson(dir: string, name: string): Record<string, unknown> | undefined {
  const s = readText(dir, name);
  return s === undefined ? undefined : (JSON.parse(s) as Record<string, unknown>);
}

/** tokenizer.json + tokenizer_config.json (+ special_tokens_map.json, generation_config.json, chat_template.jinja/.json). */
export function loadHfTokenizer(dir: string): HfTokenizer {
  const tokenizerJson = readJson(dir, 'tokenizer.json');
  if (!tokenizerJson) throw new Error(`${dir}: no tokenizer.json`);
  // Template precedence (models.md §5.1): chat_template.jinja, then tokenizer_config.json, then chat_template.json.
  let chatTemplate = readText(dir, 'chat_template.jinja');
  const config = readJson(dir, 'tokenizer_config.json');
  if (chatTemplate === undefined && config?.chat_template === undefined) {
    const t = readJson(dir, 'chat_template.json')?.chat_template;
    if (typeof t === 'string') chatTemplate = t;
  }
  return new HfTokenizer({
    tokenizerJson,
    config,
    specialTokensMap: readJson(dir, 'special_tokens_map.json'),
    generationConfig: readJson(dir, 'generation_config.json'),
    chatTemplate,
  });
}
