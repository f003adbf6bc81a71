import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../src/engine/rng.ts';
import { argmax, logSoftmax, nativeVocabOps, sampleToken, topK, tsVocabOps } from '../../src/engine/sampler.ts';
import type { SamplingParams } from '../../src/engine/types.ts';

const params = (p: Partial<SamplingParams>): SamplingParams => ({
  temperature: 1,
  topP: 1,
  topK: 0,
  maxTokens: 16,
  stopTokenIds: [],
  logprobs: null,
  ...p,
});

function randomLogits(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => (rng.next() - 0.5) * 8);
}

describe('sampler', () => {
  it('greedy picks the argmax, lowest id on ties', () => {
    assert.equal(argmax(Float32Array.from([1, 3, 3, 2])), 1);
    const logits = randomLogits(100, 1);
    const r = sampleToken(logits.slice(), 100, params({ temperature: 0 }), new Rng(1));
    assert.equal(r.tokenId, argmax(logits));
  });

  it('never samples or reports padding ids beyond the vocab limit', () => {
    const logits = new Float32Array(20).fill(0);
    logits[15] = 50; // a padding row that would win
    for (let seed = 0; seed < 50; seed++) {
      const r = sampleToken(logits.slice(), 10, params({ logprobs: 5 }), new Rng(seed));
      assert.ok(r.tokenId < 10);
      assert.ok(r.logprob!.top.every((t) => t.id < 10));
    }
  });

  it('the same seed gives the same draws; different seeds differ', () => {
    const logits = randomLogits(500, 7);
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 20 }, () => sampleToken(logits.slice(), 500, params({ temperature: 1.5 }), rng).tokenId);
    };
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
  });

  it('top_k restricts draws to the k best tokens', () => {
    const logits = randomLogits(300, 3);
    const allowed = new Set(topK(logits, 5).map((t) => t.id));
    const rng = new Rng(9);
    for (let i = 0; i < 200; i++) {
      assert.ok(allowed.has(sampleToken(logits.slice(), 300, params({ temperature: 5, topK: 5 }), rng).tokenId));
    }
  });

  it('top_p keeps the smallest set reaching the mass', () => {
    // probabilities ≈ 0.5, 0.3, 0.2 (+ negligible): top_p 0.7 keeps the first two only
    const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2), -30, -30]);
    const rng = new Rng(5);
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) seen.add(sampleToken(logits.slice(), 5, params({ topP: 0.7 }), rng).tokenId);
    assert.deepEqual([...seen].sort(), [0, 1]);
  });

  it('temperature sampling follows the distribution', () => {
    const logits = Float32Array.from([Math.log(0.75), Math.log(0.25)]);
    const rng = new Rng(11);
    let zeros = 0;
    for (let i = 0; i < 4000; i++) if (sampleToken(logits.slice(), 2, params({}), rng).tokenId === 0) zeros++;
    assert.ok(Math.abs(zeros / 4000 - 0.75) < 0.03, `got ${zeros / 4000}`);
  });

  it('large vocabularies run in the addon with the same results as the TypeScript loops', () => {
    const V = 50_000;
    const logits = randomLogits(V, 21);
    for (const p of [
      params({ temperature: 0, logprobs: 5 }),
      params({ temperature: 0.8, topK: 50 }),
      params({ temperature: 0.8, topP: 0.9 }),
      params({ temperature: 1.2, logprobs: 2 }),
    ]) {
      const rngA = new Rng(3);
      const rngB = new Rng(3);
      for (let i = 0; i < 20; i++) {
        const a = sampleToken(logits.slice(), V, p, rngA, [7, 11], nativeVocabOps);
        const b = sampleToken(logits.slice(), V, p, rngB, [7, 11], tsVocabOps);
        assert.equal(a.tokenId, b.tokenId);
        assert.ok(a.tokenId !== 7 && a.tokenId !== 11);
        if (p.logprobs !== null) {
          assert.deepEqual(
            a.logprob?.top.map((t) => t.id),
            b.logprob?.top.map((t) => t.id),
          );
          assert.ok(Math.abs((a.logprob?.logprob ?? 0) - (b.logprob?.logprob ?? 1)) < 1e-6);
        }
      }
    }
  });

  it('logprobs are log-softmax of the raw logits, best first, with the sampled token', () => {
    const logits = randomLogits(64, 2);
    const lp = logSoftmax(logits);
    const r = sampleToken(logits.slice(), 64, params({ temperature: 0, logprobs: 4 }), new Rng(0));
    assert.equal(r.logprob!.top.length, 4);
    assert.equal(r.logprob!.top[0].id, r.tokenId);
    assert.equal(r.logprob!.logprob, lp[r.tokenId]);
    for (let i = 1; i < 4; i++) assert.ok(r.logprob!.top[i - 1].logprob >= r.logprob!.top[i].logprob);
    const total = lp.reduce((s, v) => s + Math.exp(v), 0);
    assert.ok(Math.abs(total - 1) < 1e-9);
  });
});
