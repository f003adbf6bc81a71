import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runScheduled } from '../../src/bench/runner.ts';

describe('scheduled runner', () => {
  it('never exceeds the concurrency cap and returns results in request order', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await runScheduled([1, 2, 3, 4, 5, 6, 7], new Array(7).fill(0), 3, async (x) => {
      peak = Math.max(peak, ++inFlight);
      await sleep(10 + (x % 3) * 5);
      inFlight--;
      return x * 10;
    });
    assert.equal(peak, 3);
    assert.deepEqual(out.results, [10, 20, 30, 40, 50, 60, 70]);
  });

  it('sends each request no earlier than its arrival offset', async () => {
    const sentAt: number[] = [];
    const t0 = Date.now();
    await runScheduled([0, 1, 2], [0, 0.05, 0.1], null, async (i) => {
      sentAt[i] = Date.now() - t0;
    });
    assert.ok(sentAt[1] >= 45 && sentAt[2] >= 95, `sent at ${sentAt}`);
  });
});
