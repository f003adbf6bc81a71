/**
 * The tsdeploy side of the engine benchmark: the engine core (scheduler, paged KV cache, forward
 * pass, greedy sampler) in this process, stepped directly, with no worker thread and no HTTP.
 * Prefix caching is off (repeats reuse the same prompts) and chunked prefill is off with a token
 * budget large enough for every prompt, so a prompt is always one forward pass. The KV cache is
 * F16, as llama.cpp's.
 */
import { EngineCore } from '../src/engine/core.ts';
import type { EngineRequest } from '../src/engine/types.ts';
import { Transformer } from '../src/model/forward.ts';
import { loadModel } from '../src/model/load.ts';
import { native } from '../src/native/index.ts';
import { type EngineDriver, now, promptTokens, type TestSpec, type Timing, tokensPerSequence } from './harness.ts';

const BLOCK_SIZE = 64;

/** Sizes the addon's thread pool (the calling thread plus n − 1 workers); returns what it runs with. */
export function configureThreads(n: number): number {
  native.setThreads(n);
  return native.threads;
}

/** The KV cache element type: F16, like llama.cpp's default cache. */
export const KV_CACHE_DTYPE = 'f16';

export function tsdeployIsa(): string {
  return native.isa;
}

export class TsdeployDriver implements EngineDriver {
  readonly name = 'tsdeploy';
  private readonly model: Transformer;
  private core: EngineCore | undefined;
  private nextId = 0;

  constructor(modelPath: string) {
    this.model = new Transformer(loadModel(modelPath), native);
  }

  async prepare(test: TestSpec): Promise<void> {
    const seqs = test.kind === 'batch' ? test.seqs : 1;
    const perSeq = tokensPerSequence(test);
    const spec = this.model.spec;
    this.core = new EngineCore(this.model, {
      blockSize: BLOCK_SIZE,
      numBlocks: seqs * Math.ceil(perSeq / BLOCK_SIZE),
      maxNumSeqs: Math.max(seqs, 1),
      maxNumBatchedTokens: Math.max(2048, seqs * perSeq),
      enableChunkedPrefill: false,
      enablePrefixCaching: false,
      kvCacheDtype: KV_CACHE_DTYPE,
      // greedy over every row, padding included, as llama.cpp does (same argmax work)
      vocabLimit: spec.vocabSize,
    });
  }

  async run(test: TestSpec, firstTokens?: number[]): Promise<Timing> {
    const core = this.core;
    if (!core) throw new Error('tsdeploy driver: run() before prepare()');
    const add = (prompt: number[], maxTokens: number): string => {
      const id = `bench-${this.nextId++}`;
      const request: EngineRequest = {
        id,
        promptIds: prompt,
        sampling: { temperature: 0, topP: 1, topK: 0, maxTokens, stopTokenIds: [], logprobs: null },
      };
      const err = core.add(request);
      if (err) throw new Error(`tsdeploy: ${err.error}`);
      return id;
    };
    const drain = (): number[] => {
      const tokens: number[] = [];
      while (core.hasWork()) {
        for (const out of core.step()) {
          if (out.finishReason === 'error') throw new Error(`tsdeploy: ${out.error}`);
          tokens.push(...out.tokenIds);
        }
      }
      return tokens;
    };

    if (test.kind === 'pp') {
      add(promptTokens(test.tokens), 1);
      const t0 = now();
      const outs = core.step();
      const seconds = now() - t0;
      if (outs.length !== 1 || outs[0].tokenIds.length !== 1 || core.hasWork())
        throw new Error('tsdeploy: the prompt did not run as one step');
      return { tokens: test.tokens, seconds };
    }

    if (test.kind === 'tg') {
      add(promptTokens(test.prompt), test.tokens + 1);
      const first = core.step(); // prefill + first token: not timed
      const t0 = now();
      const rest = drain();
      const seconds = now() - t0;
      if (rest.length !== test.tokens) throw new Error(`tsdeploy: ${rest.length} tokens instead of ${test.tokens}`);
      firstTokens?.push(...first[0].tokenIds, ...rest);
      return { tokens: test.tokens, seconds };
    }

    for (let s = 0; s < test.seqs; s++) add(promptTokens(test.prompt, s + 1), test.steps + 1);
    const first = core.step(); // every prompt in one step, one token each: not timed
    if (first.length !== test.seqs)
      throw new Error(`tsdeploy: ${first.length} of ${test.seqs} prompts ran in the first step`);
    let steps = 0;
    let tokens = 0;
    const t0 = now();
    while (core.hasWork()) {
      const outs = core.step();
      steps++;
      if (outs.length !== test.seqs)
        throw new Error(`tsdeploy: a decode step ran ${outs.length} of ${test.seqs} sequences`);
      for (const out of outs) tokens += out.tokenIds.length;
    }
    const seconds = now() - t0;
    if (steps !== test.steps) throw new Error(`tsdeploy: ${steps} decode steps instead of ${test.steps}`);
    return { tokens, seconds };
  }

  async finish(): Promise<void> {
    this.core = undefined;
  }

  async dispose(): Promise<void> {
    this.core = undefined;
  }
}
