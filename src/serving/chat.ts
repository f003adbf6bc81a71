/**
 * POST /v1/chat/completions without HTTP: validate, render the chat template, tokenize, fan out n engine
 * requests, and build the chat.completion body or chat.completion.chunk stream (api-spec §4.1, §6.1, §7.1).
 */

import { badRequest } from '../protocol/errors.ts';
import type {
  ChatChoice,
  ChatChunkChoice,
  ChatCompletionChunk,
  ChatCompletionResponse,
  ChatDelta,
  ChatLogprobs,
} from '../protocol/responses.ts';
import type { ChatCompletionRequest } from '../protocol/schemas.ts';
import { flattenContent } from '../text/chat-template.ts';
import type { ChatMessage } from '../text/types.ts';
import { ChoiceDecoder } from './choice.ts';
import { makeUsage, nowSeconds, type ServingContext } from './context.ts';
import { chatLogprobEntries } from './logprobs.ts';
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

interface PreparedChat {
  id: string;
  created: number;
  promptText: string;
  promptIds: number[];
  choices: ChoiceRun[];
  stream: StreamSettings;
  /** alternatives per token when logprobs were asked for, else null */
  topLogprobs: number | null;
  returnTokenIds: boolean;
  release: () => void;
  observer: RequestObserver;
}

export class ChatCompletionHandler {
  constructor(private readonly ctx: ServingContext) {}

  /** Throws ApiError (400/404) for a bad request before any engine work starts. */
  async create(
    req: ChatCompletionRequest,
    signal: AbortSignal,
  ): Promise<HandlerResult<ChatCompletionResponse, ChatCompletionChunk>> {
    const p = await this.prepare(req, performance.now());
    if (p.stream.stream) return { stream: true, chunks: this.stream(p, signal) };
    try {
      return { stream: false, body: await this.complete(p, signal) };
    } finally {
      p.release();
    }
  }

  private async prepare(req: ChatCompletionRequest, arrival: number): Promise<PreparedChat> {
    const { opts } = this.ctx;
    checkModel(opts, req.model);
    const stream = streamSettings(req);

    let topLogprobs: number | null = null;
    if (req.logprobs) {
      if (!opts.enableLogprob) throw badRequest(LOGPROBS_DISABLED, 'logprobs');
      topLogprobs = req.top_logprobs ?? 0; // api-spec Decisions §4
      checkLogprobCount(opts, topLogprobs, 'top_logprobs');
    } else if (req.top_logprobs != null && req.top_logprobs > 0) {
      throw badRequest('when using `top_logprobs`, `logprobs` must be set to true.', 'top_logprobs');
    }

    if (req.messages.length === 0) throw badRequest('messages can not be an empty list.', 'messages');
    const messages: ChatMessage[] = req.messages.map((m) => ({ ...m, content: flattenContent(m.content ?? null) }));
    const template = this.ctx.chatTemplate(req.chat_template);
    let promptText: string;
    try {
      promptText = template.render(messages, {
        addGenerationPrompt: req.add_generation_prompt ?? true,
        tools: req.tools ?? undefined,
        kwargs: req.chat_template_kwargs ?? undefined,
      });
    } catch (err) {
      // Templates reject conversations they cannot express (raise_exception), which is the client's input.
      throw badRequest(
        `Failed to apply the chat template: ${err instanceof Error ? err.message : String(err)}`,
        'messages',
      );
    }
    // The template writes BOS and other special tokens itself.
    const promptIds = await encodePrompt(opts, promptText, false);
    if (promptIds.length === 0) throw badRequest('The rendered prompt is empty.', 'messages');

    const requested = req.max_completion_tokens ?? req.max_tokens;
    const requestedParam = req.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
    const maxTokens = resolveMaxTokens(opts, promptIds.length, requested, requestedParam, 'messages', req.min_tokens);
    const stops = stopSettings(opts, req);

    const id = makeResponseId('chatcmpl-', req);
    const release = this.ctx.claimId(id);
    const n = req.n ?? 1;
    const choices: ChoiceRun[] = [];
    for (let k = 0; k < n; k++) {
      choices.push({
        index: k,
        request: {
          id: `${id}_${k}`,
          promptIds,
          sampling: samplingParams(opts, req, stops, maxTokens, topLogprobs, k),
        },
        decoder: new ChoiceDecoder({
          tokenizer: opts.tokenizer,
          stopStrings: stops.strings,
          stopTokenIds: stops.tokenIds,
          includeStopInOutput: stops.includeStopInOutput,
          maxTokens,
        }),
      });
    }
    return {
      id,
      created: nowSeconds(),
      promptText,
      promptIds,
      choices,
      stream,
      topLogprobs,
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
  private run(p: PreparedChat, signal: AbortSignal): AsyncGenerator<RunEvent> {
    const counts = () => usageCounts(this.usage(p));
    return runChoices(this.ctx.opts.engine, p.choices, signal, { observer: p.observer, counts });
  }

  private logprobs(
    p: PreparedChat,
    ids: number[],
    lps: ChoiceDecoder['logprobs'],
    stream: boolean,
  ): ChatLogprobs | null {
    if (p.topLogprobs === null) return null;
    return { content: chatLogprobEntries(this.ctx.texts, ids, lps, p.topLogprobs, stream), refusal: null };
  }

  private async complete(p: PreparedChat, signal: AbortSignal): Promise<ChatCompletionResponse> {
    for await (const _ of this.run(p, signal)) {
      // Non-stream: the decoders accumulate everything; nothing to do per step.
    }
    const { tokenizer } = this.ctx.opts;
    const choices: ChatChoice[] = p.choices.map(({ index, decoder: d }) => ({
      index,
      message: {
        role: 'assistant',
        content: d.text,
        multimodal_content: null,
        reasoning_content: null,
        tool_calls: null,
        prompt_token_ids: p.returnTokenIds ? p.promptIds : null,
        completion_token_ids: p.returnTokenIds ? d.tokenIds : null,
        prompt_tokens: p.returnTokenIds ? p.promptText : null,
        completion_tokens: p.returnTokenIds ? decodeAll(tokenizer, d.tokenIds) : null,
      },
      logprobs: this.logprobs(p, d.tokenIds, d.logprobs, false),
      draft_logprobs: null,
      prompt_logprobs: null,
      finish_reason: d.finishReason ?? 'stop',
      speculate_metrics: null,
    }));
    return {
      id: p.id,
      object: 'chat.completion',
      created: p.created,
      model: this.ctx.modelName,
      choices,
      usage: this.usage(p),
    };
  }

  private usage(p: PreparedChat) {
    let completion = 0;
    let cached = 0;
    for (const c of p.choices) {
      completion += c.decoder.tokenIds.length;
      cached += c.decoder.cachedTokens;
    }
    // The prompt is counted once however many choices share it (api-spec §6.1).
    return makeUsage(p.promptIds.length, completion, cached, 'chat');
  }

  private chunk(p: PreparedChat, choices: ChatChunkChoice[]): ChatCompletionChunk {
    return { id: p.id, object: 'chat.completion.chunk', created: p.created, model: this.ctx.modelName, choices };
  }

  private async *stream(p: PreparedChat, signal: AbortSignal): AsyncGenerator<ChatCompletionChunk> {
    try {
      for await (const ev of this.run(p, signal)) {
        if (ev.first) yield this.roleChunk(p, ev.choice.index);
        yield this.tokenChunk(p, ev);
      }
      if (signal.aborted) return;
      if (p.stream.includeUsage) yield { ...this.chunk(p, []), usage: this.usage(p) };
    } finally {
      p.release();
    }
  }

  /** First chunk of a choice: the assistant role, and the prompt ids when return_token_ids is on. */
  private roleChunk(p: PreparedChat, index: number): ChatCompletionChunk {
    const delta: ChatDelta = {
      role: 'assistant',
      content: '',
      reasoning_content: '',
      tool_calls: null,
      prompt_token_ids: p.returnTokenIds ? p.promptIds : null,
      completion_token_ids: null,
    };
    if (p.returnTokenIds) delta.prompt_tokens = p.promptText;
    const chunk = this.chunk(p, [{ index, delta }]);
    if (p.stream.continuousUsage) chunk.usage = makeUsage(p.promptIds.length, 0, 0, 'chat');
    return chunk;
  }

  private tokenChunk(p: PreparedChat, ev: RunEvent): ChatCompletionChunk {
    const { step, choice } = ev;
    const delta: ChatDelta = {
      content: step.text,
      reasoning_content: '',
      tool_calls: null,
      prompt_token_ids: null,
      completion_token_ids: p.returnTokenIds ? step.tokenIds : null,
    };
    if (p.returnTokenIds) delta.completion_tokens = step.text;
    const entry: ChatChunkChoice = {
      index: choice.index,
      delta,
      logprobs: this.logprobs(p, step.tokenIds, step.logprobs, true),
      draft_logprobs: null,
      arrival_time: Date.now() / 1000,
    };
    if (step.finishReason) entry.finish_reason = step.finishReason;
    const chunk = this.chunk(p, [entry]);
    if (p.stream.continuousUsage) {
      const d = choice.decoder;
      chunk.usage = makeUsage(p.promptIds.length, d.tokenIds.length, d.cachedTokens, 'chat');
    }
    return chunk;
  }
}

/** Full decode of a completion (return_token_ids' completion_tokens); the tokenizer rejects empty input. */
export function decodeAll(tokenizer: { decode(ids: number[]): string }, ids: number[]): string {
  return ids.length === 0 ? '' : tokenizer.decode(ids);
}
