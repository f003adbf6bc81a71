/**
 * Per-choice output state: turns the engine's token ids into text (incremental detokenizer), applies stop
 * strings (StopMatcher) and decides the finish reason. One instance per choice, fed every EngineOutput of
 * that choice in order.
 */
import type { EngineOutput, TokenLogprob } from '../engine/types.ts';
import { ApiError, internalError } from '../protocol/errors.ts';
import type { FinishReasonOut } from '../protocol/responses.ts';
import { IncrementalDetokenizer } from '../text/detokenizer.ts';
import { StopMatcher } from '../text/stop-matcher.ts';
import type { Tokenizer } from '../text/types.ts';

export interface ChoiceConfig {
  tokenizer: Tokenizer;
  stopStrings: string[];
  /** ids the engine stops on (EOS unless ignore_eos, plus stop_token_ids) */
  stopTokenIds: readonly number[];
  includeStopInOutput: boolean;
  /** max_tokens after clamping to the context window */
  maxTokens: number;
}

/** What one EngineOutput added to a choice. */
export interface ChoiceStep {
  /** text that became final with this output (may be "" while a possible stop string is held back) */
  text: string;
  /** generated ids in this output (cut after the token that completed a stop string) */
  tokenIds: number[];
  logprobs: TokenLogprob[];
  /** set on the choice's last step */
  finishReason?: FinishReasonOut;
  /** true when a stop string ended the choice: its engine request must be aborted */
  stoppedByString: boolean;
}

const utf8 = new TextDecoder();

export class ChoiceDecoder {
  readonly tokenIds: number[] = [];
  readonly logprobs: TokenLogprob[] = [];
  text = '';
  finishReason: FinishReasonOut | undefined;
  /** prefix-cache hits the engine reported for this choice (usage.prompt_tokens_details.cached_tokens) */
  cachedTokens = 0;

  private readonly detok: IncrementalDetokenizer;
  private readonly stops: StopMatcher;
  private readonly stopIds: Set<number>;

  constructor(private readonly cfg: ChoiceConfig) {
    this.detok = new IncrementalDetokenizer(cfg.tokenizer);
    this.stops = new StopMatcher(cfg.stopStrings, { includeStopInOutput: cfg.includeStopInOutput });
    this.stopIds = new Set(cfg.stopTokenIds);
  }

  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  /** Consumes one engine output. Engine errors throw; an engine-side abort is reported as 503. */
  push(out: EngineOutput): ChoiceStep {
    if (out.finishReason === 'error') throw internalError(out.error ?? 'the engine failed to generate');
    if (out.finishReason === 'abort') {
      throw new ApiError(503, 'The request was aborted by the engine.', { type: 'server_error', code: 'aborted' });
    }
    // The engine reports prefix-cache hits on a request's first output.
    if (out.cachedTokens !== undefined) this.cachedTokens = out.cachedTokens;

    const step: ChoiceStep = { text: '', tokenIds: [], logprobs: [], stoppedByString: false };
    const n = out.tokenIds.length;
    for (let i = 0; i < n; i++) {
      const id = out.tokenIds[i];
      step.tokenIds.push(id);
      const lp = out.logprobs?.[i];
      if (lp) step.logprobs.push(lp);

      if (i === n - 1 && out.finishReason === 'stop' && this.stopIds.has(id)) {
        // The stop token (EOS or a stop_token_id) ends the text; its own text is shown only when
        // include_stop_str_in_output asks for it (api-spec Decisions §2).
        const rest = this.drain();
        step.text += rest.text;
        if (!rest.stopped && this.cfg.includeStopInOutput) step.text += utf8.decode(this.cfg.tokenizer.tokenBytes(id));
        step.stoppedByString = rest.stopped;
        step.finishReason = 'stop';
        break;
      }
      const r = this.stops.push(this.detok.push(id));
      step.text += r.text;
      if (r.stopped) {
        step.stoppedByString = true;
        step.finishReason = 'stop';
        break;
      }
    }
    if (step.finishReason === undefined && out.finishReason !== undefined) {
      const rest = this.drain();
      step.text += rest.text;
      step.stoppedByString = rest.stopped;
      step.finishReason = out.finishReason === 'length' ? 'length' : 'stop';
    }

    this.tokenIds.push(...step.tokenIds);
    this.logprobs.push(...step.logprobs);
    this.text += step.text;
    // api-spec §6.4: a choice that used its whole max_tokens budget reports "length", even when its last token
    // happened to be EOS. A stop string is a deliberate stop and keeps "stop".
    if (step.finishReason !== undefined && !step.stoppedByString && this.tokenIds.length >= this.cfg.maxTokens) {
      step.finishReason = 'length';
    }
    this.finishReason = step.finishReason;
    return step;
  }

  /** End of generation: release text held back by the detokenizer and the stop matcher. */
  private drain(): { text: string; stopped: boolean } {
    const r = this.stops.push(this.detok.flush());
    if (r.stopped) return r;
    return { text: r.text + this.stops.flush(), stopped: false };
  }
}
