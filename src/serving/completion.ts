/**
 * POST /v1/completions without HTTP: validate, tokenize each prompt, fan out prompts × n engine requests
 * and build the text_completion body or chunk stream (api-spec §4.2, §6.2, §7.2).
 */
import { badRequest } from '../protocol/errors.ts';
import type {
  CompletionChoice,
  CompletionChunk,
  CompletionChunkChoice,
  CompletionLogprobs,
  CompletionResponse,
} from '../protocol/responses.ts';
import type { CompletionRequest } from '../protocol/schemas.ts';
import { decodeAll } from './chat.ts';
import { ChoiceDecoder } from './choice.ts';
import { makeUsage, nowSeconds, type ServingContext } from './context.ts';
import { completionLogprobs } from './logprobs.ts';
import { observeRequest, type RequestObserver, usageCounts } from './metrics-observer.ts';
import { encodePrompt } from './options.ts';
import {
  checkLogprobCount,
  checkModel,
  LOGPROBS_DISABLED,
  makeResponseId,
  resolveMaxTokens,
  type StreamSettings,
  samplingParams,
  stopSettings,
  streamSettings,
} from './params.ts';
import type { HandlerResult } from './result.ts';
import { type ChoiceRun, type RunEvent, runChoices } from './run.ts';

interface PromptInput {
  ids: number[];
  /** the prompt as the client sent it; null for token-id prompts */
  text: string | null;
  /** what `echo` prepends: the prompt string, or the decoded ids */
  echoText: string;
}

interface CompletionChoiceRun extends ChoiceRun {
  prompt: PromptInput;
}

interface PreparedCompletion {
  id: string;
  created: number;
  prompts: PromptInput[];
  choices: CompletionChoiceRun[];
  stream: StreamSettings;
  /** alternatives per token when logprobs were asked for, else null */
  logprobs: number | null;
  echo: boolean;
  returnTokenIds: boolean;
  release: () => void;
  observer: RequestObserver;
}

export class CompletionHandler {
  constructor(private readonly ctx: ServingContext) {}

  /** Throws ApiError (400/404) for a bad request before any engine work starts. */
  async create(
    req: CompletionRequest,
    signal: AbortSignal,
  ): Promise<HandlerResult<CompletionResponse, CompletionChunk>> {
    const p = await this.prepare(req, performance.now());
    if (p.stream.stream) return { stream: true, chunks: this.stream(p, signal) };
    try {
      return { stream: false, body: await this.complete(p, signal) };
    } finally {
      p.release();
    }
  }

  /** Normalises the four prompt forms (api-spec §4.2) to token ids, rejecting empty ones. */
  private prompts(req: CompletionRequest): Promise<PromptInput[]> {
    const { opts } = this.ctx;
    const { tokenizer, engine } = opts;
    const raw = req.prompt;
    if (Array.isArray(raw) && raw.length === 0) throw badRequest('prompt must not be empty.', 'prompt');
    // A flat number array is one token prompt; every other form is a list of prompts.
    const list: (string | number[])[] =
      typeof raw === 'string' ? [raw] : typeof raw[0] === 'number' ? [raw as number[]] : (raw as (string | number[])[]);
    // every prompt is checked before any is encoded, so a bad one fails fast
    const checked = list.map((item, i) => {
      const param = list.length > 1 ? `prompt[${i}]` : 'prompt';
      if (typeof item === 'string') {
        if (item === '') throw badRequest('prompt must not be empty.', param);
        return item;
      }
      if (item.length === 0) throw badRequest('prompt must not be empty.', param);
      const bad = item.find((t) => t >= engine.modelVocabSize);
      if (bad !== undefined) {
        throw badRequest(`Token id ${bad} is out of range: the vocabulary has ${engine.modelVocabSize} ids.`, param);
      }
      return { ids: item, text: null, echoText: decodeAll(tokenizer, item) } satisfies PromptInput;
    });
    // The tokenizer's own add_bos setting decides whether BOS is prepended.
    return Promise.all(
      checked.map(async (c): Promise<PromptInput> =>
        typeof c === 'string' ? { ids: await encodePrompt(opts, c, true), text: c, echoText: c } : c,
      ),
    );
  }

  private async prepare(req: CompletionRequest, arrival: number): Promise<PreparedCompletion> {
    const { opts } = this.ctx;
    checkModel(opts, req.model);
    const stream = streamSettings(req);

    // logprobs is a count here; FastDeploy needs --enable-logprob only for a positive count. 0 on a server with
    // logprobs enabled returns the sampled tokens' logprobs without alternatives.
    let logprobs: number | null = null;
    if (req.logprobs != null && req.logprobs > 0 && !opts.enableLogprob)
      throw badRequest(LOGPROBS_DISABLED, 'logprobs');
    if (req.logprobs != null && opts.enableLogprob) {
      checkLogprobCount(opts, req.logprobs, 'logprobs');
      logprobs = req.logprobs;
    }

    const prompts = await this.prompts(req);
    const maxTokens = prompts.map((pr, i) =>
      resolveMaxTokens(
        opts,
        pr.ids.length,
        req.max_tokens,
        'max_tokens',
        prompts.length > 1 ? `prompt[${i}]` : 'prompt',
        req.min_tokens,
      ),
    );
    const stops = stopSettings(opts, req);

    const id = makeResponseId('cmpl-', req);
    const release = this.ctx.claimId(id);
    const n = req.n ?? 1;
    const choices: CompletionChoiceRun[] = [];
    prompts.forEach((prompt, pi) => {
      for (let k = 0; k < n; k++) {
        // Choice order: prompt 0's n choices, then prompt 1's, … (api-spec §6.2).
        const index = pi * n + k;
        choices.push({
          index,
          prompt,
          request: {
            id: `${id}_${index}`,
            promptIds: prompt.ids,
            sampling: samplingParams(opts, req, stops, maxTokens[pi], logprobs, k),
          },
          decoder: new ChoiceDecoder({
            tokenizer: opts.tokenizer,
            stopStrings: stops.strings,
            stopTokenIds: stops.tokenIds,
            includeStopInOutput: stops.includeStopInOutput,
            maxTokens: maxTokens[pi],
          }),
        });
      }
    });
    return {
      id,
      created: nowSeconds(),
      prompts,
      choices,
      stream,
      logprobs,
      echo: req.echo === true,
      returnTokenIds: req.return_token_ids === true,
      release,
      observer: observeRequest(
        opts.observer,
        arrival,
        choices.map((c) => c.request.sampling.maxTokens),
      ),
    };
  }

  /** The engine requests of every choice, reporting to the request's metrics observer. */
  private run(p: PreparedCompletion, signal: AbortSignal): AsyncGenerator<RunEvent> {
    const counts = () => usageCounts(this.usage(p));
    return runChoices(this.ctx.opts.engine, p.choices, signal, { observer: p.observer, counts });
  }

  private logprobs(p: PreparedCompletion, ids: number[], lps: ChoiceDecoder['logprobs']): CompletionLogprobs | null {
    return p.logprobs === null ? null : completionLogprobs(this.ctx.texts, ids, lps, p.logprobs);
  }

  private async complete(p: PreparedCompletion, signal: AbortSignal): Promise<CompletionResponse> {
    for await (const _ of this.run(p, signal)) {
      // Non-stream: the decoders accumulate everything.
    }
    const { tokenizer } = this.ctx.opts;
    const choices: CompletionChoice[] = p.choices.map(({ index, prompt, decoder: d }) => ({
      index,
      text: (p.echo ? prompt.echoText : '') + d.text,
      prompt_token_ids: p.returnTokenIds ? prompt.ids : null,
      completion_token_ids: p.returnTokenIds ? d.tokenIds : null,
      prompt_tokens: p.returnTokenIds ? prompt.text : null,
      completion_tokens: p.returnTokenIds ? decodeAll(tokenizer, d.tokenIds) : null,
      arrival_time: null,
      logprobs: this.logprobs(p, d.tokenIds, d.logprobs),
      draft_logprobs: null,
      prompt_logprobs: null,
      reasoning_content: null,
      finish_reason: d.finishReason ?? 'stop',
      tool_calls: null,
      speculate_metrics: null,
    }));
    return {
      id: p.id,
      object: 'text_completion',
      created: p.created,
      model: this.ctx.modelName,
      choices,
      usage: this.usage(p),
    };
  }

  private usage(p: PreparedCompletion) {
    let completion = 0;
    let cached = 0;
    for (const c of p.choices) {
      completion += c.decoder.tokenIds.length;
      cached += c.decoder.cachedTokens;
    }
    // Each distinct prompt counts once, however many choices it has (api-spec §6.2).
    const prompt = p.prompts.reduce((sum, pr) => sum + pr.ids.length, 0);
    return makeUsage(prompt, completion, cached, 'completion');
  }

  private chunk(p: PreparedCompletion, choices: CompletionChunkChoice[]): CompletionChunk {
    return { id: p.id, object: 'text_completion', created: p.created, model: this.ctx.modelName, choices };
  }

  private async *stream(p: PreparedCompletion, signal: AbortSignal): AsyncGenerator<CompletionChunk> {
    try {
      for await (const ev of this.run(p, signal)) {
        const choice = ev.choice as CompletionChoiceRun;
        if (ev.first && p.returnTokenIds) {
          yield this.chunk(p, [
            {
              index: choice.index,
              text: '',
              prompt_token_ids: choice.prompt.ids,
              prompt_tokens: choice.prompt.text,
              completion_token_ids: null,
            },
          ]);
        }
        yield this.tokenChunk(p, ev, choice);
      }
      if (signal.aborted) return;
      // One usage chunk after every choice finished (api-spec Decisions §5 overrides the per-choice chunks).
      if (p.stream.includeUsage) yield { ...this.chunk(p, []), usage: this.usage(p) };
    } finally {
      p.release();
    }
  }

  private tokenChunk(p: PreparedCompletion, ev: RunEvent, choice: CompletionChoiceRun): CompletionChunk {
    const { step } = ev;
    const entry: CompletionChunkChoice = {
      index: choice.index,
      // echo: the prompt goes in front of the first generated text
      text: (ev.first && p.echo ? choice.prompt.echoText : '') + step.text,
      prompt_token_ids: null,
      completion_token_ids: p.returnTokenIds ? step.tokenIds : null,
      tool_calls: null,
      completion_tokens: p.returnTokenIds ? step.text : null,
      reasoning_content: '',
      arrival_time: Date.now() / 1000,
      logprobs: this.logprobs(p, step.tokenIds, step.logprobs),
      prompt_logprobs: null,
      draft_logprobs: null,
    };
    if (step.finishReason) entry.finish_reason = step.finishReason;
    return this.chunk(p, [entry]);
  }
}
