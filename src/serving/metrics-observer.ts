/**
 * What the endpoint handlers report for metrics, without knowing how it is exported: server/metrics.ts turns
 * these events into Prometheus series. Plain TypeScript, no metrics library here.
 *
 * Lifecycle of one API request: `requestReceived` once it passed validation, then `firstToken` and
 * `choiceFinished` per choice as generation goes, then exactly one of `finished` (every choice done) or
 * `failed` (an error, or the client went away).
 */
import type { Usage } from '../protocol/responses.ts';

/** Token counts of one finished choice (one engine request). */
export interface ChoiceCounts {
  /** prompt tokens the engine processed for this choice */
  promptTokens: number;
  /** of those, tokens served from the prefix cache */
  cachedTokens: number;
  /** tokens the choice generated */
  generationTokens: number;
}

/** Token counts of a finished API request, equal to its response's `usage`. */
export interface RequestCounts {
  /** each distinct prompt counted once (usage.prompt_tokens) */
  promptTokens: number;
  /** all choices together (usage.completion_tokens) */
  generationTokens: number;
}

export interface RequestObserver {
  /** The first output of choice `choice` arrived. */
  firstToken(choice: number): void;
  /** Choice `choice` produced its last token. */
  choiceFinished(choice: number, counts: ChoiceCounts): void;
  /** Every choice finished and the response is complete. */
  finished(counts: RequestCounts): void;
  /** The request ended without a complete response: an error, or the client disconnected. */
  failed(cause: 'error' | 'aborted'): void;
}

export interface ServingObserver {
  /**
   * A validated API request is about to start its engine requests. `arrival` is `performance.now()` when the
   * handler got the request (before templating and tokenizing); `maxTokens` holds each choice's effective
   * max_tokens (after clamping to the context window).
   */
  requestReceived(request: { arrival: number; maxTokens: readonly number[] }): RequestObserver;
}

const IGNORE: RequestObserver = {
  firstToken() {},
  choiceFinished() {},
  finished() {},
  failed() {},
};

/** The request's observer, or one that ignores everything when the server collects no metrics. */
export function observeRequest(
  observer: ServingObserver | undefined,
  arrival: number,
  maxTokens: readonly number[],
): RequestObserver {
  return observer ? observer.requestReceived({ arrival, maxTokens }) : IGNORE;
}

/** The counts `finished` reports, read from the response's usage so the two always agree. */
export function usageCounts(usage: Usage): RequestCounts {
  return { promptTokens: usage.prompt_tokens, generationTokens: usage.completion_tokens };
}
