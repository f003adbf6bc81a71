/**
 * Sends one streaming request to an OpenAI-compatible endpoint and records when its tokens arrived.
 * Times are seconds on the performance clock. TTFT is measured to the first chunk that carries output
 * (chat servers send a role-only preamble chunk right away, which says nothing about the model), and
 * each later output chunk contributes one inter-token latency, as vLLM's bench serve does.
 */
import { performance } from 'node:perf_hooks';
import type { BenchRequest } from './datasets.ts';
import { SseParser } from './sse.ts';

export type EndpointKind = 'completions' | 'chat';

export interface RequestSettings {
  /** full URL of the endpoint */
  url: string;
  kind: EndpointKind;
  model: string;
  ignoreEos: boolean;
  /** sampling fields sent with every request (temperature, top_p, …) and --extra-body */
  extraBody: Record<string, unknown>;
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface RequestResult {
  success: boolean;
  /** why it failed (HTTP status and body, error event, network error) */
  error: string;
  /** prompt tokens: the server's usage.prompt_tokens, else the intended length */
  promptLen: number;
  /** output tokens: usage.completion_tokens, else the number of output chunks */
  outputTokens: number;
  /** the server reported usage (so the token counts are the server's) */
  usageReported: boolean;
  /** seconds from sending to the first output chunk */
  ttft: number;
  /** seconds between consecutive output chunks */
  itl: number[];
  /** seconds from sending to the end of the stream */
  latency: number;
  /** performance-clock seconds when the request was sent */
  start: number;
  /** performance-clock seconds at which each output chunk arrived */
  chunkTimes: number[];
  generatedText: string;
}

export function buildBody(s: RequestSettings, r: BenchRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: s.model,
    max_tokens: r.outputLen,
    stream: true,
    stream_options: { include_usage: true },
  };
  if (s.ignoreEos) {
    // Both: ignore_eos stops EOS from ending the request, min_tokens covers servers that only know it
    // (and stop strings); together every request generates exactly outputLen tokens.
    body.ignore_eos = true;
    body.min_tokens = r.outputLen;
  }
  if (s.kind === 'chat') {
    if (typeof r.prompt !== 'string') throw new Error('chat requests need text prompts (--prompt-format text)');
    body.messages = [{ role: 'user', content: r.prompt }];
  } else {
    body.prompt = r.prompt;
  }
  return { ...body, ...s.extraBody };
}

/** The output text a chunk carries (text, delta content or reasoning), or undefined if it carries none. */
function chunkOutput(kind: EndpointKind, choice: Record<string, unknown>): string | undefined {
  let text = '';
  if (kind === 'chat') {
    const delta = (choice.delta ?? {}) as Record<string, unknown>;
    for (const key of ['reasoning_content', 'reasoning', 'content']) {
      if (typeof delta[key] === 'string') text += delta[key];
    }
    if (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) text += JSON.stringify(delta.tool_calls);
  } else if (typeof choice.text === 'string') {
    text = choice.text;
  }
  const ids =
    choice.completion_token_ids ?? (choice.delta as Record<string, unknown> | undefined)?.completion_token_ids;
  if (text === '' && !(Array.isArray(ids) && ids.length > 0)) return undefined;
  return text;
}

function errorText(json: unknown): string | undefined {
  if (json && typeof json === 'object' && 'error' in json) {
    const e = (json as { error: unknown }).error;
    if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
    return JSON.stringify(e);
  }
  return undefined;
}

export async function sendRequest(s: RequestSettings, r: BenchRequest): Promise<RequestResult> {
  const body = JSON.stringify(buildBody(s, r));
  const start = performance.now() / 1000;
  const result: RequestResult = {
    success: false,
    error: '',
    promptLen: r.promptLen,
    outputTokens: 0,
    usageReported: false,
    ttft: 0,
    itl: [],
    latency: 0,
    start,
    chunkTimes: [],
    generatedText: '',
  };
  try {
    const res = await fetch(s.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...s.headers },
      body,
      signal: AbortSignal.timeout(s.timeoutMs),
    });
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      let msg = text;
      try {
        msg = errorText(JSON.parse(text)) ?? text;
      } catch {
        // not JSON: keep the raw body
      }
      result.error = `HTTP ${res.status}${msg ? `: ${msg.slice(0, 500)}` : ''}`;
      result.latency = performance.now() / 1000 - start;
      return result;
    }
    const parser = new SseParser();
    let done = false;
    let chunks = 0;
    const handle = (payloads: string[], now: number): void => {
      for (const data of payloads) {
        if (data.trim() === '[DONE]') {
          done = true;
          continue;
        }
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(data) as Record<string, unknown>;
        } catch {
          throw new Error(`malformed SSE data: ${data.slice(0, 200)}`);
        }
        const err = errorText(json);
        if (err !== undefined) throw new Error(err);
        const choice = Array.isArray(json.choices)
          ? (json.choices[0] as Record<string, unknown> | undefined)
          : undefined;
        const text = choice ? chunkOutput(s.kind, choice) : undefined;
        if (text !== undefined) {
          if (chunks === 0) result.ttft = now - start;
          else result.itl.push(now - result.chunkTimes[result.chunkTimes.length - 1]);
          result.chunkTimes.push(now);
          result.generatedText += text;
          chunks++;
        }
        const usage = json.usage as { prompt_tokens?: unknown; completion_tokens?: unknown } | null | undefined;
        if (usage && typeof usage.completion_tokens === 'number') {
          result.outputTokens = usage.completion_tokens;
          if (typeof usage.prompt_tokens === 'number') result.promptLen = usage.prompt_tokens;
          result.usageReported = true;
        }
      }
    };
    for await (const bytes of res.body) handle(parser.push(bytes as Uint8Array), performance.now() / 1000);
    const end = performance.now() / 1000;
    handle(parser.end(), end);
    result.latency = end - start;
    if (!result.usageReported) result.outputTokens = chunks;
    if (!done) result.error = 'stream ended without [DONE]';
    else if (chunks === 0) result.error = 'no output tokens in the stream';
    else result.success = true;
  } catch (err) {
    result.latency = performance.now() / 1000 - start;
    result.error = describeError(err);
  }
  return result;
}

/** fetch wraps network failures as "fetch failed" with the useful part in `cause`. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return `timed out: ${err.message}`;
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}
