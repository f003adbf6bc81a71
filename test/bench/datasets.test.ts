import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIRST_ID, prefixRepetitionWorkload, randomWorkload } from '../../src/bench/datasets.ts';

const common = { numPrompts: 12, vocabSize: 40, seed: 5, format: 'ids' as const };

describe('bench workloads', () => {
  it('random: exact lengths, ids inside the vocabulary, a shared prefix, repeatable', () => {
    const w = randomWorkload({ ...common, inputLen: 16, outputLen: 8, prefixLen: 4, rangeRatio: 0 });
    assert.equal(w.length, 12);
    const prefix = (w[0].prompt as number[]).slice(0, 4);
    for (const r of w) {
      const ids = r.prompt as number[];
      assert.equal(ids.length, 20);
      assert.equal(r.promptLen, 20);
      assert.equal(r.outputLen, 8);
      assert.ok(ids.every((id) => Number.isInteger(id) && id >= FIRST_ID && id < 40));
      assert.deepEqual(ids.slice(0, 4), prefix);
    }
    assert.notDeepEqual(w[0].prompt, w[1].prompt);
    assert.deepEqual(randomWorkload({ ...common, inputLen: 16, outputLen: 8, prefixLen: 4, rangeRatio: 0 }), w);
  });

  it('random: a range ratio varies lengths within bounds', () => {
    const w = randomWorkload({
      ...common,
      numPrompts: 200,
      inputLen: 100,
      outputLen: 10,
      prefixLen: 0,
      rangeRatio: 0.5,
    });
    const lens = w.map((r) => r.promptLen);
    assert.ok(lens.every((n) => n >= 50 && n <= 150));
    assert.ok(new Set(lens).size > 20);
    assert.ok(w.every((r) => r.outputLen >= 5 && r.outputLen <= 15));
  });

  it('prefix-repetition: equal shares of each prefix, distinct suffixes, shuffled', () => {
    const w = prefixRepetitionWorkload({ ...common, prefixLen: 10, suffixLen: 3, numPrefixes: 3, outputLen: 4 });
    const byPrefix = new Map<string, number>();
    for (const r of w) {
      const ids = r.prompt as number[];
      assert.equal(ids.length, 13);
      const key = ids.slice(0, 10).join(',');
      byPrefix.set(key, (byPrefix.get(key) ?? 0) + 1);
    }
    assert.deepEqual([...byPrefix.values()], [4, 4, 4]);
    assert.equal(new Set(w.map((r) => (r.prompt as number[]).join(','))).size, 12);
    // not grouped: somewhere two neighbours have different prefixes before all of one prefix is done
    const order = w.map((r) => (r.prompt as number[]).slice(0, 10).join(','));
    assert.notDeepEqual(order, [...order].sort());
  });

  it('text prompts use the decoder, or one word per intended token', () => {
    const decoded = randomWorkload({
      ...common,
      format: 'text',
      decode: (ids) => ids.map((i) => `<${i}>`).join(''),
      inputLen: 3,
      outputLen: 2,
      prefixLen: 0,
      rangeRatio: 0,
    });
    assert.match(decoded[0].prompt as string, /^(<\d+>){3}$/);
    const words = randomWorkload({ ...common, format: 'text', inputLen: 5, outputLen: 2, prefixLen: 0, rangeRatio: 0 });
    assert.equal((words[0].prompt as string).split(' ').length, 5);
  });

  it('rejects impossible workloads', () => {
    assert.throws(() =>
      randomWorkload({ ...common, vocabSize: 3, inputLen: 1, outputLen: 1, prefixLen: 0, rangeRatio: 0 }),
    );
    assert.throws(() =>
      prefixRepetitionWorkload({ ...common, prefixLen: 4, suffixLen: 1, numPrefixes: 13, outputLen: 1 }),
    );
  });
});
