import { Rng } from './rng.ts';
import type { EngineRequest, FinishReason, SamplingParams, TokenLogprob } from './types.ts';

/** The engine core's state of one request: its tokens, how many are in the KV cache, and its blocks. */
export class Sequence {
  readonly id: string;
  readonly sampling: SamplingParams;
  /** prompt followed by every generated token */
  readonly tokens: number[];
  readonly promptLength: number;
  readonly rng: Rng;
  /** tokens whose K/V are in the cache */
  numComputed = 0;
  blockTable: number[] = [];
  /** chained hashes of the full blocks of `tokens` computed so far (prefix caching) */
  blockHashes: string[] = [];
  /** leading blocks of blockTable already registered in the prefix cache */
  numRegisteredBlocks = 0;
  /** prompt tokens served from the prefix cache when the sequence was first scheduled */
  numCachedTokens: number | undefined;
  finishReason: FinishReason | undefined;
  /** generated since the last emitted output */
  pendingTokens: number[] = [];
  pendingLogprobs: TokenLogprob[] = [];

  constructor(request: EngineRequest) {
    this.id = request.id;
    this.sampling = request.sampling;
    this.tokens = [...request.promptIds];
    this.promptLength = request.promptIds.length;
    // Unseeded requests still get their own stream, so batching never couples two requests' draws.
    this.rng = new Rng(request.sampling.seed ?? Math.floor(Math.random() * 2 ** 53));
  }

  get numGenerated(): number {
    return this.tokens.length - this.promptLength;
  }

  /** Tokens still to run through the model before the next token can be sampled. */
  get numUncomputed(): number {
    return this.tokens.length - this.numComputed;
  }

  /** Stop ids may not end the sequence before min_tokens tokens were generated, so they are not sampled. */
  get bannedIds(): number[] | undefined {
    const min = this.sampling.minTokens ?? 0;
    return this.numGenerated < min ? this.sampling.stopTokenIds : undefined;
  }

  /** Records a sampled token and decides whether the sequence is finished. */
  append(tokenId: number, logprob: TokenLogprob | undefined): void {
    this.tokens.push(tokenId);
    this.pendingTokens.push(tokenId);
    if (logprob) this.pendingLogprobs.push(logprob);
    const s = this.sampling;
    if (s.stopTokenIds.includes(tokenId)) this.finishReason = 'stop';
    else if (this.numGenerated >= s.maxTokens) this.finishReason = 'length';
  }
}
