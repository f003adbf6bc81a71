import type { ForwardBatch, Transformer } from '../model/forward.ts';
import type { KvCacheDtype } from '../native/types.ts';
import { KvCache } from './kv-cache.ts';
import { sampleToken } from './sampler.ts';
import { Scheduler, type SchedulerConfig } from './scheduler.ts';
import { Sequence } from './sequence.ts';
import type { EngineOutput, EngineRequest, EngineStats } from './types.ts';

export interface EngineCoreConfig extends SchedulerConfig {
  blockSize: number;
  numBlocks: number;
  /** element type of the KV cache (default f16) */
  kvCacheDtype?: KvCacheDtype;
  /** ids ≥ this are padding rows of the LM head and are never sampled */
  vocabLimit: number;
}

/**
 * The step loop's state machine: schedule → run the model on the flattened batch → sample → emit.
 * It owns the KV cache and every sequence; nothing else touches them.
 */
export class EngineCore {
  readonly kv: KvCache;
  private readonly scheduler: Scheduler;
  private readonly sequences = new Map<string, Sequence>();

  /**
   * @param onScheduled called after each step's scheduling decision, before the model runs (the
   *   worker publishes stats there, so observers see a long prefill as running while it runs)
   */
  constructor(
    private readonly model: Transformer,
    private readonly config: EngineCoreConfig,
    private readonly onScheduled: () => void = () => {},
  ) {
    const spec = model.spec;
    this.kv = new KvCache(
      spec.numLayers,
      spec.numKvHeads * spec.headDim,
      config.blockSize,
      config.numBlocks,
      config.kvCacheDtype ?? 'f16',
    );
    this.scheduler = new Scheduler(this.kv.pool, config.blockSize, config);
  }

  hasWork(): boolean {
    return this.scheduler.hasWork();
  }

  /** A snapshot for metrics and tests. */
  stats(): EngineStats {
    const pool = this.kv.pool;
    return {
      numRunning: this.scheduler.numRunning,
      numWaiting: this.scheduler.numWaiting,
      numBlocks: this.kv.numBlocks,
      numFreeBlocks: pool.numFreeBlocks,
      numFreeCachedBlocks: pool.numFreeCachedBlocks,
      numCachedBlocks: pool.numCachedBlocks,
    };
  }

  /** Queues a request; returns an error output instead if it can never fit in the cache. */
  add(request: EngineRequest): EngineOutput | undefined {
    if (this.sequences.has(request.id)) return failure(request.id, `duplicate request id ${request.id}`);
    const total = request.promptIds.length + request.sampling.maxTokens;
    if (request.promptIds.length === 0) return failure(request.id, 'the prompt is empty');
    if (this.scheduler.blocksFor(total) > this.kv.numBlocks) {
      return failure(
        request.id,
        `request needs ${total} tokens of KV cache but the cache holds ${this.kv.numBlocks * this.kv.blockSize}`,
      );
    }
    const badId = request.promptIds.find((id) => !Number.isInteger(id) || id < 0 || id >= this.model.spec.vocabSize);
    if (badId !== undefined) return failure(request.id, `prompt token id ${badId} is outside the vocabulary`);
    const seq = new Sequence(request);
    this.sequences.set(seq.id, seq);
    this.scheduler.add(seq);
    return undefined;
  }

  /** Drops a request and frees its blocks now; returns its final output if it was still active. */
  abort(id: string): EngineOutput | undefined {
    const seq = this.sequences.get(id);
    if (!seq) return undefined;
    this.scheduler.remove(id);
    this.sequences.delete(id);
    return { id, tokenIds: [], finishReason: 'abort' };
  }

  /** Runs one model step and returns the outputs it produced. */
  step(): EngineOutput[] {
    const chunks = this.scheduler.schedule();
    this.onScheduled();
    if (chunks.length === 0) return [];

    const batch = this.buildBatch(chunks);
    const logits = this.model.forward(batch, this.kv);
    const vocab = this.model.spec.vocabSize;

    const outputs: EngineOutput[] = [];
    let row = 0;
    for (const { seq, numTokens } of chunks) {
      this.scheduler.computed(seq, numTokens);
      if (seq.numUncomputed > 0) continue; // prefill chunk that does not reach the end yet
      const { tokenId, logprob } = sampleToken(
        logits.subarray(row * vocab, (row + 1) * vocab),
        this.config.vocabLimit,
        seq.sampling,
        seq.rng,
        seq.bannedIds,
      );
      row++;
      seq.append(tokenId, logprob);
      outputs.push(this.drain(seq));
    }
    return outputs;
  }

  /** Collects what a sequence produced since its last output; retires it when finished. */
  private drain(seq: Sequence): EngineOutput {
    const out: EngineOutput = { id: seq.id, tokenIds: seq.pendingTokens };
    if (seq.sampling.logprobs !== null) out.logprobs = seq.pendingLogprobs;
    if (seq.numGenerated === seq.pendingTokens.length) out.cachedTokens = seq.numCachedTokens ?? 0;
    seq.pendingTokens = [];
    seq.pendingLogprobs = [];
    if (seq.finishReason) {
      out.finishReason = seq.finishReason;
      this.scheduler.remove(seq.id);
      this.sequences.delete(seq.id);
    }
    return out;
  }

  private buildBatch(chunks: { seq: Sequence; numTokens: number }[]): ForwardBatch {
    const T = chunks.reduce((n, c) => n + c.numTokens, 0);
    const maxBlocks = Math.max(...chunks.map((c) => c.seq.blockTable.length));
    const bs = this.kv.blockSize;
    const tokens = new Int32Array(T);
    const positions = new Int32Array(T);
    const tokenSeq = new Int32Array(T);
    const slots = new Int32Array(T);
    const blockTables = new Int32Array(chunks.length * maxBlocks);
    const logitRows: number[] = [];
    let t = 0;
    chunks.forEach(({ seq, numTokens }, s) => {
      blockTables.set(seq.blockTable, s * maxBlocks);
      for (let i = 0; i < numTokens; i++, t++) {
        const pos = seq.numComputed + i;
        tokens[t] = seq.tokens[pos];
        positions[t] = pos;
        tokenSeq[t] = s;
        slots[t] = seq.blockTable[Math.floor(pos / bs)] * bs + (pos % bs);
      }
      if (seq.numComputed + numTokens === seq.tokens.length) logitRows.push(t - 1);
    });
    return { tokens, positions, tokenSeq, slots, blockTables, maxBlocksPerSeq: maxBlocks, logitRows: Int32Array.from(logitRows) };
  }
}

function failure(id: string, error: string): EngineOutput {
  return { id, tokenIds: [], finishReason: 'error', error };
}
