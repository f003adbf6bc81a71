import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { arrivalOffsets } from '../../src/bench/arrivals.ts';
import { Rng } from '../../src/bench/rng.ts';

function gaps(offsets: number[]): number[] {
  return offsets.slice(1).map((t, i) => t - offsets[i]);
}

describe('arrival schedule', () => {
  it('is repeatable for a seed and differs between seeds', () => {
    assert.deepEqual(arrivalOffsets(50, 4, 7), arrivalOffsets(50, 4, 7));
    assert.notDeepEqual(arrivalOffsets(50, 4, 7), arrivalOffsets(50, 4, 8));
  });

  it('Poisson arrivals have the requested mean rate and exponential spread', () => {
    const rate = 5;
    const t = arrivalOffsets(20_001, rate, 1);
    assert.equal(t[0], 0);
    const g = gaps(t);
    assert.ok(g.every((x) => x >= 0));
    const m = g.reduce((s, x) => s + x, 0) / g.length;
    const cv = Math.sqrt(g.reduce((s, x) => s + (x - m) ** 2, 0) / g.length) / m;
    assert.ok(Math.abs(m * rate - 1) < 0.03, `mean gap ${m}`);
    assert.ok(Math.abs(cv - 1) < 0.05, `coefficient of variation ${cv}`); // exponential: cv = 1
  });

  it('burstiness keeps the mean rate and sets the spread (gamma gaps, cv = 1/sqrt(b))', () => {
    for (const b of [0.5, 4]) {
      const g = gaps(arrivalOffsets(20_001, 2, 3, b));
      const m = g.reduce((s, x) => s + x, 0) / g.length;
      const cv = Math.sqrt(g.reduce((s, x) => s + (x - m) ** 2, 0) / g.length) / m;
      assert.ok(Math.abs(m * 2 - 1) < 0.04, `b=${b}: mean gap ${m}`);
      assert.ok(Math.abs(cv - 1 / Math.sqrt(b)) < 0.08, `b=${b}: cv ${cv}`);
    }
  });

  it('an infinite rate sends everything at once', () => {
    assert.deepEqual(arrivalOffsets(4, Number.POSITIVE_INFINITY, 0), [0, 0, 0, 0]);
    assert.throws(() => arrivalOffsets(4, 0, 0));
  });

  it('the RNG draws uniformly in range', () => {
    const rng = new Rng(42);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[rng.int(0, 10)]++;
    for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `bucket ${c}`);
  });
});
