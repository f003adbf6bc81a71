import type { BlockPool } from './block-pool.ts';
import { extendBlockHashes } from './prefix-hash.ts';
import type { Sequence } from './sequence.ts';

export interface SchedulerConfig {
  /** sequences allowed in the running set */
  maxNumSeqs: number;
  /** tokens (decodes + prefill chunks) in one model step */
  maxNumBatchedTokens: number;
  /** split long prompts over several steps instead of waiting for a step with room for all of them */
  enableChunkedPrefill: boolean;
  /** reuse the KV blocks of identical prefixes across requests */
  enablePrefixCaching: boolean;
}

/** `numTokens` tokens of `seq`, starting at seq.numComputed, run in this step. */
export interface ScheduledChunk {
  seq: Sequence;
  numTokens: number;
}

/**
 * Decides which tokens run in each step: running sequences first (decodes, or the rest of a chunked
 * prefill), then waiting sequences in arrival order while the token budget, the sequence limit and
 * the KV blocks allow. A newly admitted sequence starts after the longest prefix found in the
 * prefix cache. When a running sequence needs a block and none is free, the most recently admitted
 * running sequence is preempted: its blocks are released and it recomputes later (mostly from the
 * prefix cache, since its full blocks stay cached until evicted).
 */
export class Scheduler {
  private waiting: Sequence[] = [];
  private running: Sequence[] = [];

  constructor(
    private readonly pool: BlockPool,
    private readonly blockSize: number,
    private readonly config: SchedulerConfig,
  ) {}

  get numWaiting(): number {
    return this.waiting.length;
  }

  get numRunning(): number {
    return this.running.length;
  }

  hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  /** Blocks a sequence of `tokens` tokens occupies. */
  blocksFor(tokens: number): number {
    return Math.ceil(tokens / this.blockSize);
  }

  add(seq: Sequence): void {
    this.waiting.push(seq);
  }

  /** Removes a sequence wherever it is and releases its blocks; returns it if it was known. */
  remove(id: string): Sequence | undefined {
    for (const list of [this.running, this.waiting]) {
      const i = list.findIndex((s) => s.id === id);
      if (i >= 0) {
        const [seq] = list.splice(i, 1);
        this.releaseBlocks(seq);
        return seq;
      }
    }
    return undefined;
  }

  schedule(): ScheduledChunk[] {
    const chunks: ScheduledChunk[] = [];
    // Hashes of blocks this step fills: a waiting sequence about to need one of them waits a step
    // and then reads it from the cache instead of computing it a second time (n > 1, shared prompts).
    const filling = new Set<string>();
    let budget = this.config.maxNumBatchedTokens;

    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const seq = this.running[i];
      const n = Math.min(seq.numUncomputed, budget);
      if (!this.reserve(seq, n, i)) break; // seq itself was preempted
      chunks.push({ seq, numTokens: n });
      this.noteFilling(seq, n, filling);
      budget -= n;
    }

    while (this.waiting.length > 0 && budget > 0 && this.running.length < this.config.maxNumSeqs) {
      const seq = this.waiting[0];
      const n = this.admit(seq, budget, filling);
      if (n === undefined) break; // first come, first served: nobody overtakes the head of the queue
      this.waiting.shift();
      this.running.push(seq);
      chunks.push({ seq, numTokens: n });
      this.noteFilling(seq, n, filling);
      budget -= n;
    }
    return chunks;
  }

  /** After a step: `n` more tokens of `seq` are in the cache; its newly full blocks become reusable. */
  computed(seq: Sequence, n: number): void {
    seq.numComputed += n;
    if (!this.config.enablePrefixCaching) return;
    extendBlockHashes(seq.blockHashes, seq.tokens, this.blockSize, seq.numComputed);
    const full = Math.floor(seq.numComputed / this.blockSize);
    for (; seq.numRegisteredBlocks < full; seq.numRegisteredBlocks++) {
      this.pool.register(seq.blockTable[seq.numRegisteredBlocks], seq.blockHashes[seq.numRegisteredBlocks]);
    }
  }

  /**
   * Gives a waiting sequence its cached prefix and blocks for its first chunk; returns the chunk's
   * token count, or undefined if it cannot start this step.
   */
  private admit(seq: Sequence, budget: number, filling: Set<string>): number | undefined {
    const hits: number[] = [];
    if (this.config.enablePrefixCaching) {
      extendBlockHashes(seq.blockHashes, seq.tokens, this.blockSize, seq.tokens.length);
      for (const h of seq.blockHashes) {
        const b = this.pool.lookup(h);
        if (b === undefined) break;
        hits.push(b);
      }
      if (hits.length < seq.blockHashes.length && filling.has(seq.blockHashes[hits.length])) return undefined;
    }
    // At least the last token runs through the model: its logits give the next token.
    const start = Math.min(hits.length * this.blockSize, seq.tokens.length - 1);
    const n = Math.min(seq.tokens.length - start, budget);
    if (n < seq.tokens.length - start && !this.config.enableChunkedPrefill) return undefined;
    for (const b of hits) this.pool.retain(b); // before allocating, so allocation cannot evict them
    const fresh = this.pool.allocate(this.blocksFor(start + n) - hits.length);
    if (!fresh) {
      this.pool.release(hits.reverse());
      return undefined;
    }
    seq.blockTable = [...hits, ...fresh];
    seq.numComputed = start;
    seq.numRegisteredBlocks = hits.length;
    seq.numCachedTokens ??= start;
    return n;
  }

  private noteFilling(seq: Sequence, n: number, filling: Set<string>): void {
    if (!this.config.enablePrefixCaching) return;
    extendBlockHashes(seq.blockHashes, seq.tokens, this.blockSize, seq.numComputed + n);
    const from = Math.floor(seq.numComputed / this.blockSize);
    const to = Math.floor((seq.numComputed + n) / this.blockSize);
    for (let i = from; i < to; i++) filling.add(seq.blockHashes[i]);
  }

  /**
   * Makes room for n more tokens of running[index], preempting later-admitted sequences (and as a
   * last resort the sequence itself). Returns false if the sequence itself was preempted.
   */
  private reserve(seq: Sequence, n: number, index: number): boolean {
    const needed = this.blocksFor(seq.numComputed + n) - seq.blockTable.length;
    if (needed <= 0) return true;
    for (;;) {
      const blocks = this.pool.allocate(needed);
      if (blocks) {
        seq.blockTable.push(...blocks);
        return true;
      }
      const victim = this.running[this.running.length - 1];
      this.preempt(victim);
      if (victim === seq || this.running.length <= index) return false;
    }
  }

  /** Recompute preemption: drop the sequence's blocks and put it back at the head of the queue. */
  private preempt(seq: Sequence): void {
    this.running.splice(this.running.indexOf(seq), 1);
    this.releaseBlocks(seq);
    this.waiting.unshift(seq);
  }

  /** Tail blocks first, so eviction takes a prompt's (less shared) end before its head. */
  private releaseBlocks(seq: Sequence): void {
    this.pool.release([...seq.blockTable].reverse());
    seq.blockTable = [];
    seq.numComputed = 0;
    seq.numRegisteredBlocks = 0;
  }
}
