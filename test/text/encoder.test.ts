/**
 * PromptEncoder: long texts are encoded by a worker thread that loads the same tokenizer; its ids
 * equal the in-place ones for both tokenizer kinds, concurrent requests get their own answers, and
 * short texts never start the worker.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readGguf } from '../../src/model/gguf.ts';
import { PromptEncoder, type TokenizerSource } from '../../src/text/encoder.ts';
import { loadGgufTokenizer, loadHfTokenizer } from '../../src/text/load.ts';
import type { Tokenizer } from '../../src/text/types.ts';
import { STORIES_GGUF, STORIES_HF } from '../helpers/models.ts';

const sources: [string, TokenizerSource, Tokenizer][] = [
  ['tokenizer.json', { kind: 'hf', dir: STORIES_HF }, loadHfTokenizer(STORIES_HF)],
  (() => {
    const metadata = readGguf(STORIES_GGUF).metadata;
    return ['GGUF', { kind: 'gguf', metadata }, loadGgufTokenizer(metadata)] as [string, TokenizerSource, Tokenizer];
  })(),
];

for (const [name, source, tokenizer] of sources) {
  describe(`PromptEncoder (${name})`, () => {
    it('encodes long texts in the worker with the same ids, concurrently', async () => {
      const encoder = new PromptEncoder(tokenizer, source, 64);
      try {
        const texts = [0, 1, 2, 3].map((i) => `Lily had ${i} red balls. `.repeat(20 + 7 * i) + '<s> end');
        const got = await Promise.all(texts.flatMap((t) => [encoder.encode(t, true), encoder.encode(t, false)]));
        texts.forEach((t, i) => {
          assert.deepEqual(got[2 * i], tokenizer.encode(t, { addSpecialTokens: true }), `text ${i} with BOS`);
          assert.deepEqual(got[2 * i + 1], tokenizer.encode(t, { addSpecialTokens: false }), `text ${i}`);
        });
      } finally {
        await encoder.close();
      }
    });

    it('encodes short texts in place and works again after close', async () => {
      const encoder = new PromptEncoder(tokenizer, source, 64);
      assert.deepEqual(await encoder.encode('Hello', true), tokenizer.encode('Hello', { addSpecialTokens: true }));
      await encoder.close();
      const long = 'One day, a cat sat on a mat. '.repeat(10);
      assert.deepEqual(await encoder.encode(long, false), tokenizer.encode(long, { addSpecialTokens: false }));
      await encoder.close();
    });
  });
}
