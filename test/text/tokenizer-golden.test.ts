// Both tokenizer loaders against llama.cpp's tokenization of stories260K (golden.json) and the synthetic
// checkpoints' prompt ids: ids must match exactly, BOS included.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadGgufTokenizer, loadHfTokenizer } from '../../src/text/load.ts';
import type { Tokenizer } from '../../src/text/types.ts';
import { type GenGolden, ggufMetadata, MODELS, readJson, STORIES, type TokGolden } from './helpers.ts';

const golden = readJson<{ tokenization: TokGolden[]; generation: (GenGolden & { completion_text: string })[] }>(
  `${STORIES}golden.json`,
);

const loaders: [string, () => Tokenizer][] = [
  ['hf/tokenizer.json', () => loadHfTokenizer(`${STORIES}hf`)],
  ['stories260K.gguf', () => loadGgufTokenizer(ggufMetadata(`${STORIES}stories260K.gguf`))],
];

for (const [name, load] of loaders) {
  describe(`stories260K tokenizer from ${name}`, () => {
    const tok = load();

    it('has the vocabulary facts of the model card', () => {
      assert.equal(tok.vocabSize, 512);
      assert.equal(tok.bosTokenId, 1);
      assert.deepEqual(tok.eosTokenIds, [2]);
      assert.equal(tok.addBosToken, true);
      assert.equal(tok.specialTokenStrings.bos_token, '<s>');
      assert.equal(tok.specialTokenStrings.eos_token, '</s>');
      assert.equal(tok.idToPiece(403), '▁Once');
      assert.equal(tok.isSpecial(1), true);
      assert.equal(tok.isSpecial(403), false);
    });

    it('reproduces the 22 tokenization goldens', () => {
      assert.equal(golden.tokenization.length, 22);
      for (const g of golden.tokenization) {
        assert.deepEqual(tok.encode(g.text), g.ids, JSON.stringify(g.text));
        assert.deepEqual(
          g.ids.map((id) => tok.idToPiece(id)),
          g.pieces,
        );
      }
    });

    it('omits BOS without special tokens but still parses special-token strings', () => {
      assert.deepEqual(tok.encode('Once upon a time', { addSpecialTokens: false }), [403, 407, 261, 378]);
      assert.deepEqual(tok.encode('', { addSpecialTokens: false }), []);
      assert.deepEqual(tok.encode('a <s> b', { addSpecialTokens: false }), [261, 410, 1, 410, 268]);
    });

    it('reproduces the generation prompt ids, and decode(prompt + completion) = decode(prompt) + completion_text', () => {
      for (const g of golden.generation) {
        assert.deepEqual(tok.encode(g.prompt), g.prompt_ids, g.prompt);
        const full = tok.decode([...g.prompt_ids, ...g.completion_ids]);
        assert.equal(full, tok.decode(g.prompt_ids) + g.completion_text);
        assert.equal(tok.decode(g.prompt_ids), g.prompt);
      }
    });

    it('decodes like HF: one dummy-prefix space stripped, special tokens skipped by default', () => {
      assert.equal(tok.decode([1, 403, 407]), 'Once upon');
      assert.equal(tok.decode([1, 403, 407], { skipSpecialTokens: false }), '<s> Once upon');
      assert.equal(tok.decode([]), '');
      assert.equal(tok.decode([410, 233, 159, 175]), '本');
    });

    it('maps tokens to the bytes they stand for', () => {
      assert.deepEqual([...tok.tokenBytes(403)], [...Buffer.from(' Once')]);
      assert.deepEqual([...tok.tokenBytes(13)], [10]); // <0x0A>
      assert.deepEqual([...tok.tokenBytes(233)], [0xe6]);
      assert.deepEqual([...tok.tokenBytes(2)], [...Buffer.from('</s>')]);
    });
  });
}

describe('synthetic checkpoints: prompt ids', () => {
  const dirs = readdirSync(`${MODELS}synthetic`, { withFileTypes: true }).filter((d) => d.isDirectory());
  for (const { name: dir } of dirs) {
    const base = `${MODELS}synthetic/${dir}/`;
    const gens = readJson<{ generation: GenGolden[] }>(`${base}golden.json`).generation;
    const toks: [string, Tokenizer][] = [[`${dir} hf`, loadHfTokenizer(base)]];
    for (const f of readdirSync(base).filter((f) => f.endsWith('.gguf'))) {
      toks.push([`${dir}/${f}`, loadGgufTokenizer(ggufMetadata(base + f))]);
    }
    for (const [name, tok] of toks) {
      it(name, () => {
        for (const g of gens) assert.deepEqual(tok.encode(g.prompt), g.prompt_ids, g.prompt);
      });
    }
  }

  it('ERNIE GGUF: trailing UNUSED [PAD] fillers are not part of the tokenizer', () => {
    const tok = loadGgufTokenizer(ggufMetadata(`${MODELS}synthetic/ernie4_5/ernie4_5.gguf`));
    assert.equal(tok.vocabSize, 512);
    assert.equal(tok.specialTokenStrings.pad_token, '<unk>');
    assert.equal(tok.decode([403, 520]), 'Once');
    assert.equal(typeof tok.chatTemplate, 'string');
  });
});
