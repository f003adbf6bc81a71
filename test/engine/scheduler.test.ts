import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockPool } from '../../src/engine/block-pool.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Scheduler, type SchedulerConfig } from '../../src/engine/scheduler.ts';
import { Sequence } from '../../src/engine/sequence.ts';

function seq(id: string, prompt: number | number[], maxTokens: number): Sequence {
  return new Sequence({
    id,
    promptIds: typeof prompt === 'number' ? Array.from({ length: prompt }, (_, i) => i) : prompt,
    sampling: { temperature: 0, topP: 1, topK: 0, maxTokens, stopTokenIds: [], logprobs: null },
  });
}

function scheduler(numBlocks: number, blockSize: number, config: Partial<SchedulerConfig> = {}) {
  const pool = new BlockPool(numBlocks);
  const s = new Scheduler(pool, blockSize, {
    maxNumSeqs: 8,
    maxNumBatchedTokens: 100,
    enableChunkedPrefill: true,
    enablePrefixCaching: false,
    ...config,
  });
  return { pool, s };
}

/** Plays the engine's part: marks scheduled tokens computed and appends a token when a sequence reaches its end. */
function runStep(s: Scheduler, token = (_: Sequence) => 7): Sequence[] {
  const finished: Sequence[] = [];
  for (const { seq, numTokens } of s.schedule()) {
    s.computed(seq, numTokens);
    if (seq.numUncomputed === 0) {
      seq.append(token(seq), undefined);
      if (seq.finishReason) finished.push(seq);
    }
  }
  for (const f of finished) s.remove(f.id);
  return finished;
}

describe('scheduler', () => {
  it('runs decodes first and fills the rest of the budget with prefill chunks', () => {
    const { s } = scheduler(64, 4, { maxNumBatchedTokens: 10 });
    const a = seq('a', 3, 5);
    s.add(a);
    runStep(s); // a prefilled, 1 token generated
    s.add(seq('b', 20, 5));
    assert.deepEqual(
      s.schedule().map((c) => [c.seq.id, c.numTokens]),
      [
        ['a', 1],
        ['b', 9],
      ],
    );
  });

  it('without chunked prefill a prompt waits for a step with room for all of it', () => {
    const { s } = scheduler(64, 4, { maxNumBatchedTokens: 10, enableChunkedPrefill: false });
    s.add(seq('big', 12, 2));
    assert.deepEqual(s.schedule(), []);
  });

  it('respects max_num_seqs and first-come-first-served order', () => {
    const { s } = scheduler(64, 4, { maxNumSeqs: 2 });
    for (const id of ['a', 'b', 'c']) s.add(seq(id, 2, 3));
    assert.deepEqual(
      s.schedule().map((c) => c.seq.id),
      ['a', 'b'],
    );
    assert.equal(s.numWaiting, 1);
  });

  it('preempts the newest sequence when blocks run out and resumes it later', () => {
    // 4 blocks of 2 tokens: two sequences of 3 prompt tokens + 4 generated need 4 blocks each.
    const { s, pool } = scheduler(4, 2);
    const a = seq('a', 3, 4);
    const b = seq('b', 3, 4);
    s.add(a);
    s.add(b);
    const done: string[] = [];
    for (let i = 0; i < 50 && s.hasWork(); i++) done.push(...runStep(s).map((x) => x.id));
    assert.deepEqual(done.sort(), ['a', 'b']);
    assert.equal(a.numGenerated, 4);
    assert.equal(b.numGenerated, 4);
    assert.equal(pool.numFreeBlocks, 4);
  });

  it('a prefix-cache hit reuses the full blocks of an identical prefix', () => {
    const { s, pool } = scheduler(16, 4, { enablePrefixCaching: true });
    const prompt = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    const a = seq('a', prompt, 1);
    s.add(a);
    runStep(s);
    assert.equal(a.numCachedTokens, 0);
    assert.equal(pool.numCachedBlocks, 2); // the two full blocks of the prompt
    const b = seq('b', [...prompt.slice(0, 9), 99], 2);
    s.add(b);
    const [chunk] = s.schedule();
    assert.equal(b.numCachedTokens, 8);
    assert.equal(chunk.numTokens, 2); // only the uncached tail runs
  });

  it('a fully cached prompt still recomputes its last token', () => {
    const { s } = scheduler(16, 4, { enablePrefixCaching: true });
    const prompt = [1, 2, 3, 4, 5, 6, 7, 8];
    s.add(seq('a', prompt, 1));
    runStep(s);
    const b = seq('b', prompt, 1);
    s.add(b);
    const [chunk] = s.schedule();
    assert.equal(b.numCachedTokens, 7);
    assert.equal(chunk.numTokens, 1);
  });

  it('siblings arriving together compute a shared prompt once', () => {
    const { s } = scheduler(32, 4, { enablePrefixCaching: true });
    const prompt = Array.from({ length: 13 }, (_, i) => 20 + i);
    const kids = [0, 1, 2].map((k) => seq(`x_${k}`, prompt, 2));
    for (const k of kids) s.add(k);
    const first = s.schedule();
    assert.deepEqual(
      first.map((c) => [c.seq.id, c.numTokens]),
      [['x_0', 13]],
    );
    for (const c of first) s.computed(c.seq, c.numTokens);
    first[0].seq.append(1, undefined);
    const second = s.schedule();
    assert.deepEqual(
      second.map((c) => [c.seq.id, c.numTokens]),
      [
        ['x_0', 1],
        ['x_1', 1],
        ['x_2', 1],
      ],
    );
  });

  for (const enablePrefixCaching of [false, true]) {
    it(`never leaks or double-frees blocks over 10,000 random operations (prefix caching ${enablePrefixCaching ? 'on' : 'off'})`, () => {
      const rng = new Rng(1234);
      const { s, pool } = scheduler(40, 4, { maxNumSeqs: 6, maxNumBatchedTokens: 24, enablePrefixCaching });
      const prefixes = [0, 1, 2].map((p) => Array.from({ length: 12 }, (_, i) => 100 * p + i));
      const live = new Map<string, Sequence>();
      let next = 0;
      for (let op = 0; op < 10_000; op++) {
        const r = rng.next();
        if (r < 0.3) {
          const prefix = prefixes[Math.floor(rng.next() * 3)].slice(0, Math.floor(rng.next() * 13));
          const tail = Array.from({ length: 1 + Math.floor(rng.next() * 18) }, () => Math.floor(rng.next() * 50));
          const sq = seq(`r${next++}`, [...prefix, ...tail], 1 + Math.floor(rng.next() * 20));
          live.set(sq.id, sq);
          s.add(sq);
        } else if (r < 0.4 && live.size > 0) {
          const ids = [...live.keys()];
          const id = ids[Math.floor(rng.next() * ids.length)];
          s.remove(id);
          live.delete(id);
        } else {
          for (const f of runStep(s, (q) => q.tokens.length % 50)) live.delete(f.id);
        }
        // Every block's owner count equals the number of live sequences holding it; the rest are free.
        const holders = new Map<number, number>();
        for (const q of live.values()) for (const b of q.blockTable) holders.set(b, (holders.get(b) ?? 0) + 1);
        for (let b = 0; b < pool.numBlocks; b++) assert.equal(pool.owners(b), holders.get(b) ?? 0, `block ${b}`);
        assert.equal(pool.numFreeBlocks, pool.numBlocks - holders.size);
      }
      for (const id of live.keys()) s.remove(id);
      assert.equal(pool.numFreeBlocks, pool.numBlocks);
    });
  }
});
