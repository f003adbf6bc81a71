/**
 * Request checks and engine parameters shared by both endpoints: model name, streaming options, stop
 * conditions, the context window and sampling defaults (api-spec §5). Everything here throws ApiError
 * (400/404) before any engine work starts.
 */
import { randomUUID } from 'node:crypto';
import type { SamplingParams } from '../engine/types.ts';
import { badRequest, modelNotFound } from '../protocol/errors.ts';
import type { ServingOptions } from './options.ts';

/** FastDeploy's FD_MAX_STOP_SEQS_NUM default: stop strings plus stop_token_ids. */
export const MAX_STOP_SEQS = 5;
/** top_p when neither the request nor generation_config sets one (api-spec §5.4, FastDeploy's default). */
export const DEFAULT_TOP_P = 0.7;
export const DEFAULT_TEMPERATURE = 1.0;
export const DEFAULT_MAX_LOGPROBS = 20;
/** Below this temperature or top_p, sampling is greedy (api-spec §4.1). */
const GREEDY_EPSILON = 1e-5;

/** The request fields both endpoints share, as the schemas type them (null = default). */
export interface CommonRequest {
  model?: string | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  stop_token_ids?: number[] | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean | null; continuous_usage_stats?: boolean | null } | null;
  n?: number | null;
  ignore_eos?: boolean | null;
  include_stop_str_in_output?: boolean | null;
  min_tokens?: number | null;
  user?: string | null;
  request_id?: string | null;
}

/** api-spec §5.1: without --served-model-name any name is accepted; with it, only that name or "default". */
export function checkModel(opts: ServingOptions, model: string | null | undefined): void {
  if (opts.servedModelName === undefined || model == null) return;
  if (model !== opts.servedModelName && model !== 'default') throw modelNotFound(model);
}

/** api-spec §5.2: client request_id (prefixed), else `<prefix><user>-<uuid>`, else `<prefix><uuid>`. */
export function makeResponseId(prefix: string, req: CommonRequest): string {
  if (req.request_id) return req.request_id.startsWith(prefix) ? req.request_id : prefix + req.request_id;
  return req.user ? `${prefix}${req.user}-${randomUUID()}` : prefix + randomUUID();
}

export interface StreamSettings {
  stream: boolean;
  /** one usage chunk after all choices (api-spec Decisions §5) */
  includeUsage: boolean;
  /** chat only: cumulative usage on every chunk */
  continuousUsage: boolean;
}

/**
 * stream_options only make sense with stream=true; FastDeploy lets an empty object through. When
 * stream_options is sent, include_usage defaults to true (the reference's default).
 */
export function streamSettings(req: CommonRequest): StreamSettings {
  const so = req.stream_options;
  const stream = req.stream === true;
  if (!stream && so != null && Object.values(so).some((v) => v != null)) {
    throw badRequest('Stream options can only be defined when `stream=True`.', 'stream_options');
  }
  return {
    stream,
    includeUsage: stream && so != null && so.include_usage !== false,
    continuousUsage: stream && so?.continuous_usage_stats === true,
  };
}

export interface StopSettings {
  /** stop strings, matched on text (api-spec Decisions §2) */
  strings: string[];
  /** ids that end generation in the engine: the model's EOS (unless ignore_eos) plus stop_token_ids */
  tokenIds: number[];
  includeStopInOutput: boolean;
  ignoreEos: boolean;
}

export function stopSettings(opts: ServingOptions, req: CommonRequest): StopSettings {
  const raw = req.stop == null ? [] : typeof req.stop === 'string' ? [req.stop] : req.stop;
  // `stop: ""` means no stop (api-spec §5.5).
  const strings = raw.filter((s) => s !== '');
  const extraIds = req.stop_token_ids ?? [];
  if (strings.length + extraIds.length > MAX_STOP_SEQS) {
    throw badRequest(
      `Length of stop (${JSON.stringify([...strings, ...extraIds])}) exceeds the limit max_stop_seqs_num(${MAX_STOP_SEQS}). Please reduce the number of stop sequences.`,
      'stop',
    );
  }
  const ignoreEos = req.ignore_eos === true;
  // The engine stops on every id it is given, so ignore_eos is implemented by not giving it the EOS ids.
  const tokenIds = [...new Set([...(ignoreEos ? [] : opts.eosTokenIds), ...extraIds])];
  return { strings, tokenIds, includeStopInOutput: req.include_stop_str_in_output === true, ignoreEos };
}

/**
 * api-spec Decisions §3: a prompt that fills the window alone is a 400 naming both numbers; max_tokens is
 * clamped to what is left; without max_tokens the whole remaining window may be generated.
 */
export function resolveMaxTokens(
  opts: ServingOptions,
  promptLen: number,
  requested: number | null | undefined,
  requestedParam: string,
  promptParam: string,
  minTokens: number | null | undefined,
): number {
  const limit = opts.maxModelLen;
  if (promptLen >= limit) {
    throw badRequest(
      `Input text is too long: the prompt has ${promptLen} tokens, but max_model_len is ${limit} (prompt and completion must fit together).`,
      promptParam,
      'context_length_exceeded',
    );
  }
  if (requested != null && requested < 1) {
    throw badRequest(`${requestedParam} can be defined [1, ${limit}), but now it's ${requested}.`, requestedParam);
  }
  const remaining = limit - promptLen;
  const maxTokens = Math.min(requested ?? remaining, remaining);
  if (minTokens != null && minTokens > maxTokens) {
    throw badRequest(
      `min_tokens (${minTokens}) exceeds the tokens that may be generated (${maxTokens}: max_tokens clamped to max_model_len ${limit} − prompt ${promptLen}).`,
      'min_tokens',
    );
  }
  return maxTokens;
}

/** The requested number of alternatives must stay within --max-logprobs. */
export function checkLogprobCount(opts: ServingOptions, count: number, param: string): void {
  const max = opts.maxLogprobs ?? DEFAULT_MAX_LOGPROBS;
  if (max >= 0 && count > max) {
    throw badRequest(`Number of ${param} requested (${count}) exceeds maximum allowed value (${max}).`, param);
  }
}

export const LOGPROBS_DISABLED = 'Logprobs is disabled, please enable it in startup config.';

/**
 * Sampling parameters for choice `k`. Seeded requests give choice k the seed `seed + k`: with one shared seed
 * every choice of an n>1 request would be the same text, which is never what n asks for; choice 0 keeps the
 * client's seed exactly, so n=1 results match single requests.
 */
export function samplingParams(
  opts: ServingOptions,
  req: CommonRequest,
  stops: StopSettings,
  maxTokens: number,
  logprobs: number | null,
  k: number,
): SamplingParams {
  const d = opts.generationDefaults ?? {};
  let temperature = req.temperature ?? d.temperature ?? DEFAULT_TEMPERATURE;
  let topP = req.top_p ?? d.top_p ?? DEFAULT_TOP_P;
  let topK = req.top_k ?? d.top_k ?? 0;
  if (topK < 0) topK = 0; // -1 and 0 both mean "disabled"
  if (temperature < GREEDY_EPSILON || topP < GREEDY_EPSILON) {
    // The engine's greedy mode is temperature 0; the other knobs no longer matter.
    temperature = 0;
    topP = 1;
    topK = 0;
  }
  const params: SamplingParams = {
    temperature,
    topP,
    topK,
    maxTokens,
    stopTokenIds: stops.tokenIds,
    logprobs,
  };
  if (req.seed != null) params.seed = req.seed + k;
  if (req.min_tokens != null && req.min_tokens > 0) params.minTokens = req.min_tokens;
  return params;
}
