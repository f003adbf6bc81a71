/** The engine core with a real model in this thread: caching, preemption and aborts keep outputs exact. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineCore, type EngineCoreConfig } from '../../src/engine/core.ts';
import type { EngineOutput, SamplingParams } from '../../src/engine/types.ts';
import { Transformer } from '../../src/model/forward.ts';
import { loadModel } from '../../src/model/load.ts';
import { native } from '../../src/native/index.ts';
import { STORIES_HF } from '../helpers/models.ts';

const model = new Transformer(loadModel(STORIES_HF), native);

function core(config: Partial<EngineCoreConfig> = {}): EngineCore {
  return new EngineCore(model, {
    blockSize: 4,
    numBlocks: 256,
    kvCacheDtype: 'f32',
    maxNumSeqs: 16,
    maxNumBatchedTokens: 64,
    enableChunkedPrefill: true,
    enablePrefixCaching: true,
    vocabLimit: 512,
    ...config,
  });
}

const greedy = (maxTokens: number, extra: Partial<SamplingParams> = {}): SamplingParams => ({
  temperature: 0,
  topP: 1,
  topK: 0,
  maxTokens,
  stopTokenIds: [],
  logprobs: null,
  ...extra,
});

/** Runs until idle; returns every request's tokens and first output. */
function drain(c: EngineCore): Map<string, { ids: number[]; outputs: EngineOutput[] }> {
  const got = new Map<string, { ids: number[]; outputs: EngineOutput[] }>();
  for (let steps = 0; c.hasWork(); steps++) {
    assert.ok(steps < 10_000, 'engine did not finish');
    for (const o of c.step()) {
      const r = got.get(o.id) ?? { ids: [], outputs: [] };
      r.ids.push(...o.tokenIds);
      r.outputs.push(o);
      got.set(o.id, r);
    }
  }
  return got;
}

const PROMPTS = [
  [1, 403, 407, 261, 378],
  [1, 291, 376, 400, 428],
  [1, 317],
  [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395],
];

function alone(prompt: number[], maxTokens: number, config: Partial<EngineCoreConfig> = {}): number[] {
  const c = core({ enablePrefixCaching: false, ...config });
  c.add({ id: 'solo', promptIds: prompt, sampling: greedy(maxTokens) });
  return drain(c).get('solo')!.ids;
}

describe('engine core', () => {
  const reference = PROMPTS.map((p) => alone(p, 40));

  it('prefix caching changes nothing but the work done, and reports cached tokens', () => {
    const c = core();
    PROMPTS.forEach((p, i) => {
      c.add({ id: `a${i}`, promptIds: p, sampling: greedy(40) });
    });
    const first = drain(c);
    PROMPTS.forEach((p, i) => {
      c.add({ id: `b${i}`, promptIds: p, sampling: greedy(40) });
    });
    const second = drain(c);
    PROMPTS.forEach((_, i) => {
      assert.deepEqual(first.get(`a${i}`)!.ids, reference[i]);
      assert.deepEqual(second.get(`b${i}`)!.ids, reference[i]);
      assert.equal(first.get(`a${i}`)!.outputs[0].cachedTokens, i === 3 ? 4 : 0); // shares 4 tokens with prompt 0
    });
    // Second round: every full prompt block is cached (blocks of 4; at least one token recomputed).
    assert.equal(second.get('b3')!.outputs[0].cachedTokens, 12);
    assert.equal(second.get('b0')!.outputs[0].cachedTokens, 4);
    const stats = c.stats();
    assert.equal(stats.numFreeBlocks, stats.numBlocks);
    assert.ok(stats.numCachedBlocks > 0);
  });

  it('preemption by recompute resumes without losing or duplicating tokens', () => {
    // 24 blocks of 4 tokens cannot hold four sequences of up to 54 tokens at once.
    for (const enablePrefixCaching of [false, true]) {
      const c = core({ numBlocks: 24, enablePrefixCaching });
      PROMPTS.forEach((p, i) => {
        c.add({ id: `p${i}`, promptIds: p, sampling: greedy(40) });
      });
      const got = drain(c);
      PROMPTS.forEach((_, i) => {
        assert.deepEqual(got.get(`p${i}`)!.ids, reference[i], `prompt ${i}, caching ${enablePrefixCaching}`);
      });
      assert.equal(c.stats().numFreeBlocks, 24);
    }
  });

  it('chunked prefill with a tiny budget gives the same tokens', () => {
    const c = core({ maxNumBatchedTokens: 3 });
    PROMPTS.forEach((p, i) => {
      c.add({ id: `c${i}`, promptIds: p, sampling: greedy(40) });
    });
    const got = drain(c);
    PROMPTS.forEach((_, i) => {
      assert.deepEqual(got.get(`c${i}`)!.ids, reference[i]);
    });
  });

  it('an abort frees the request’s blocks at once', () => {
    const c = core({ enablePrefixCaching: false });
    c.add({ id: 'x', promptIds: PROMPTS[3], sampling: greedy(40) });
    c.step();
    assert.ok(c.stats().numFreeBlocks < 256);
    assert.deepEqual(c.abort('x'), { id: 'x', tokenIds: [], finishReason: 'abort' });
    assert.equal(c.stats().numFreeBlocks, 256);
    assert.equal(c.hasWork(), false);
  });

  it('min_tokens keeps stop ids from ending the sequence early', () => {
    const stopAt = reference[0][2]; // the third greedy token
    const c = core();
    c.add({ id: 's', promptIds: PROMPTS[0], sampling: greedy(40, { stopTokenIds: [stopAt] }) });
    c.add({ id: 'm', promptIds: PROMPTS[0], sampling: greedy(40, { stopTokenIds: [stopAt], minTokens: 5 }) });
    const got = drain(c);
    assert.deepEqual(got.get('s')!.ids, reference[0].slice(0, 3));
    assert.equal(got.get('s')!.outputs.at(-1)!.finishReason, 'stop');
    const m = got.get('m')!.ids;
    assert.ok(m.length >= 5 && !m.slice(0, 5).includes(stopAt));
  });

  it('rejects requests that cannot fit or name unknown tokens', () => {
    const c = core({ numBlocks: 4 });
    assert.equal(c.add({ id: 'big', promptIds: PROMPTS[0], sampling: greedy(40) })?.finishReason, 'error');
    assert.equal(c.add({ id: 'bad', promptIds: [1, 9999], sampling: greedy(2) })?.finishReason, 'error');
    assert.equal(c.add({ id: 'empty', promptIds: [], sampling: greedy(2) })?.finishReason, 'error');
  });
});
