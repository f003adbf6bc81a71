import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { IncrementalDetokenizer } from '../../src/text/detokenizer.ts';
import { loadGgufTokenizer, loadHfTokenizer } from '../../src/text/load.ts';
import type { Tokenizer } from '../../src/text/types.ts';
import { type GenGolden, ggufMetadata, MODELS, readJson, STORIES } from './helpers.ts';

const stories = readJson<{ generation: (GenGolden & { completion_text: string })[] }>(`${STORIES}golden.json`);
const tokenizers: [string, Tokenizer][] = [
  ['hf', loadHfTokenizer(`${STORIES}hf`)],
  ['gguf', loadGgufTokenizer(ggufMetadata(`${STORIES}stories260K.gguf`))],
];

function stream(tok: Tokenizer, ids: number[], opts?: { skipSpecialTokens?: boolean }): string[] {
  const d = new IncrementalDetokenizer(tok, opts);
  const out = ids.map((id) => d.push(id));
  out.push(d.flush());
  return out;
}

for (const [name, tok] of tokenizers) {
  describe(`IncrementalDetokenizer (${name})`, () => {
    it('streams each golden completion to exactly its completion_text (leading space kept)', () => {
      for (const g of stories.generation) {
        assert.equal(stream(tok, g.completion_ids).join(''), g.completion_text, g.prompt);
      }
    });

    it('emits a multi-byte character only once its last byte token arrives', () => {
      // "日本語" from the tokenization goldens: ▁ then three 3-byte sequences of <0xXX> tokens
      const ids = [410, 233, 154, 168, 233, 159, 175, 235, 173, 161];
      assert.deepEqual(stream(tok, ids), [' ', '', '', '日', '', '', '本', '', '', '語', '']);
      // 4-byte emoji 😀 = F0 9F 98 80
      assert.deepEqual(stream(tok, [243, 162, 155, 131]), ['', '', '', '😀', '']);
    });

    it('turns an incomplete sequence into U+FFFD at flush, and an interrupted one at once', () => {
      assert.deepEqual(stream(tok, [233, 154]), ['', '', '\uFFFD']);
      assert.deepEqual(stream(tok, [233, 403]), ['', '\uFFFD Once', '']);
    });

    it('skips special tokens by default, shows them on request', () => {
      assert.deepEqual(stream(tok, [403, 2, 1]), [' Once', '', '', '']);
      assert.deepEqual(stream(tok, [403, 2], { skipSpecialTokens: false }), [' Once', '</s>', '']);
    });
  });
}

describe('IncrementalDetokenizer on random-weight completions (stray bytes)', () => {
  const dirs = readdirSync(`${MODELS}synthetic`, { withFileTypes: true }).filter((d) => d.isDirectory());
  it('matches a full decode of prompt + completion', () => {
    for (const { name } of dirs) {
      const base = `${MODELS}synthetic/${name}/`;
      const gguf = readdirSync(base).find((f) => f.endsWith('.gguf'));
      const toks: Tokenizer[] = [loadHfTokenizer(base)];
      if (gguf) toks.push(loadGgufTokenizer(ggufMetadata(base + gguf)));
      for (const tok of toks) {
        for (const g of readJson<{ generation: GenGolden[] }>(`${base}golden.json`).generation) {
          if (g.prompt === '') continue; // a full decode strips the first space; a continuation keeps it
          const full = tok.decode([...g.prompt_ids, ...g.completion_ids]);
          assert.equal(tok.decode(g.prompt_ids) + stream(tok, g.completion_ids).join(''), full, `${name} ${g.prompt}`);
        }
      }
    }
  });
});
