import type { KvCache } from './kv-cache.ts';
import type { Sequence } from './sequence.ts';

export interface SchedulerConfig {
  /** sequences allowed in the running set */
  maxNumSeqs: number;
  /** tokens (decodes + prefill chunks) in one model step */
  maxNumBatchedTokens: number;
  /** split long prompts over several steps instead of waiting for a step with room for all of them */
  enableChunkedPrefill: boolean;
}

/** `numTokens` tokens of `seq`, starting at seq.numComputed, run in this step. */
export interface ScheduledChunk {
  seq: Sequence;
  numTokens: number;
}

/**
 * Decides which tokens run in each step: running sequences first (decodes, or the rest of a chunked
 * prefill), then waiting sequences in arrival order while the token budget, the sequence limit and
 * the KV blocks allow. When a running sequence needs a block and none is free, the most recently
 * admitted running sequence is preempted: its blocks are freed and it recomputes later.
 */
export class Scheduler {
  private waiting: Sequence[] = [];
  private running: Sequence[] = [];

  constructor(
    private readonly kv: KvCache,
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
    return Math.ceil(tokens / this.kv.blockSize);
  }

  add(seq: Sequence): void {
    this.waiting.push(seq);
  }

  /** Removes a sequence wherever it is and frees its blocks; returns it if it was known. */
  remove(id: string): Sequence | undefined {
    for (const list of [this.running, this.waiting]) {
      const i = list.findIndex((s) => s.id === id);
      if (i >= 0) {
        const [seq] = list.splice(i, 1);
        this.freeBlocks(seq);
        return seq;
      }
    }
    return undefined;
  }

  schedule(): ScheduledChunk[] {
    const chunks: ScheduledChunk[] = [];
    let budget = this.config.maxNumBatchedTokens;

    for (let i = 0; i < this.running.length && budget > 0; i++) {
      const seq = this.running[i];
      const n = Math.min(seq.numUncomputed, budget);
      if (!this.reserve(seq, n, i)) break; // seq itself was preempted
      chunks.push({ seq, numTokens: n });
      budget -= n;
    }

    while (this.waiting.length > 0 && budget > 0 && this.running.length < this.config.maxNumSeqs) {
      const seq = this.waiting[0];
      const n = Math.min(seq.numUncomputed, budget);
      if (n < seq.numUncomputed && !this.config.enableChunkedPrefill) break;
      const blocks = this.kv.allocate(this.blocksFor(seq.numComputed + n) - seq.blockTable.length);
      if (!blocks) break; // first come, first served: nobody overtakes the head of the queue
      seq.blockTable.push(...blocks);
      this.waiting.shift();
      this.running.push(seq);
      chunks.push({ seq, numTokens: n });
      budget -= n;
    }
    return chunks;
  }

  /**
   * Makes room for n more tokens of running[index], preempting later-admitted sequences (and as a
   * last resort the sequence itself). Returns false if the sequence itself was preempted.
   */
  private reserve(seq: Sequence, n: number, index: number): boolean {
    const needed = this.blocksFor(seq.numComputed + n) - seq.blockTable.length;
    if (needed <= 0) return true;
    for (;;) {
      const blocks = this.kv.allocate(needed);
      if (blocks) {
        seq.blockTable.push(...blocks);
        return true;
      }
      const victim = this.running[this.running.length - 1];
      this.preempt(victim);
      if (victim === seq || this.running.length <= index) return false;
    }
  }

  /** Recompute preemption: drop the sequence's cache and put it back at the head of the queue. */
  private preempt(seq: Sequence): void {
    this.running.splice(this.running.indexOf(seq), 1);
    this.freeBlocks(seq);
    seq.numComputed = 0;
    this.waiting.unshift(seq);
  }

  private freeBlocks(seq: Sequence): void {
    this.kv.release(seq.blockTable);
    seq.blockTable = [];
  }
}
