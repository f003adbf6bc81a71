import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KvCache } from '../../src/engine/kv-cache.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Scheduler } from '../../src/engine/scheduler.ts';
import { Sequence } from '../../src/engine/sequence.ts';

function seq(id: string, promptLength: number, maxTokens: number): Sequence {
  return new Sequence({
    id,
    promptIds: Array.from({ length: promptLength }, (_, i) => i),
    sampling: { temperature: 0, topP: 1, topK: 0, maxTokens, stopTokenIds: [], logprobs: null },
  });
}

/** Plays the engine's part: marks scheduled tokens computed and appends a token when a sequence reaches its end. */
function runStep(s: Scheduler): Sequence[] {
  const finished: Sequence[] = [];
  for (const { seq, numTokens } of s.schedule()) {
    seq.numComputed += numTokens;
    if (seq.numUncomputed === 0) {
      seq.append(7, undefined);
      if (seq.finishReason) finished.push(seq);
    }
  }
  for (const f of finished) s.remove(f.id);
  return finished;
}

describe('scheduler', () => {
  it('runs decodes first and fills the rest of the budget with prefill chunks', () => {
    const kv = new KvCache(1, 4, 4, 64);
    const s = new Scheduler(kv, { maxNumSeqs: 8, maxNumBatchedTokens: 10, enableChunkedPrefill: true });
    const a = seq('a', 3, 5);
    s.add(a);
    runStep(s); // a prefilled, 1 token generated
    const b = seq('b', 20, 5);
    s.add(b);
    const chunks = s.schedule();
    assert.deepEqual(
      chunks.map((c) => [c.seq.id, c.numTokens]),
      [
        ['a', 1],
        ['b', 9],
      ],
    );
  });

  it('without chunked prefill a prompt waits for a step with room for all of it', () => {
    const kv = new KvCache(1, 4, 4, 64);
    const s = new Scheduler(kv, { maxNumSeqs: 8, maxNumBatchedTokens: 10, enableChunkedPrefill: false });
    s.add(seq('big', 12, 2));
    assert.deepEqual(s.schedule(), []);
  });

  it('respects max_num_seqs and first-come-first-served order', () => {
    const kv = new KvCache(1, 4, 4, 64);
    const s = new Scheduler(kv, { maxNumSeqs: 2, maxNumBatchedTokens: 100, enableChunkedPrefill: true });
    for (const id of ['a', 'b', 'c']) s.add(seq(id, 2, 3));
    assert.deepEqual(
      s.schedule().map((c) => c.seq.id),
      ['a', 'b'],
    );
    assert.equal(s.numWaiting, 1);
  });

  it('preempts the newest sequence when blocks run out and resumes it later', () => {
    // 4 blocks of 2 tokens: two sequences of 3 prompt tokens + 4 generated need 4 blocks each.
    const kv = new KvCache(1, 4, 2, 4);
    const s = new Scheduler(kv, { maxNumSeqs: 4, maxNumBatchedTokens: 100, enableChunkedPrefill: true });
    const a = seq('a', 3, 4);
    const b = seq('b', 3, 4);
    s.add(a);
    s.add(b);
    const done: string[] = [];
    for (let i = 0; i < 50 && s.hasWork(); i++) done.push(...runStep(s).map((x) => x.id));
    assert.deepEqual(done.sort(), ['a', 'b']);
    assert.equal(a.numGenerated, 4);
    assert.equal(b.numGenerated, 4);
    assert.equal(kv.numFreeBlocks, 4);
  });

  it('never leaks or double-owns blocks over many random operations', () => {
    const rng = new Rng(1234);
    const kv = new KvCache(1, 2, 4, 40);
    const s = new Scheduler(kv, { maxNumSeqs: 6, maxNumBatchedTokens: 24, enableChunkedPrefill: true });
    const live = new Map<string, Sequence>();
    let next = 0;
    for (let op = 0; op < 10_000; op++) {
      const r = rng.next();
      if (r < 0.3) {
        const sq = seq(`r${next++}`, 1 + Math.floor(rng.next() * 30), 1 + Math.floor(rng.next() * 20));
        live.set(sq.id, sq);
        s.add(sq);
      } else if (r < 0.4 && live.size > 0) {
        const ids = [...live.keys()];
        const id = ids[Math.floor(rng.next() * ids.length)];
        s.remove(id);
        live.delete(id);
      } else {
        for (const f of runStep(s)) live.delete(f.id);
      }
      const owned = [...live.values()].flatMap((x) => x.blockTable);
      assert.equal(new Set(owned).size, owned.length, 'a block is owned twice');
      assert.equal(owned.length + kv.numFreeBlocks, kv.numBlocks, 'a block leaked');
    }
    for (const id of live.keys()) s.remove(id);
    assert.equal(kv.numFreeBlocks, kv.numBlocks);
  });
});
