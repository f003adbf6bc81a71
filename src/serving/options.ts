import type { EngineClient } from '../engine/client-types.ts';
import type { ChatTemplate } from '../text/chat-template.ts';
import type { PromptEncoder } from '../text/encoder.ts';
import type { Tokenizer } from '../text/types.ts';
import type { ServingObserver } from './metrics-observer.ts';

/** Everything the endpoint logic needs; the HTTP layer adds only transport concerns on top. */
export interface ServingOptions {
  engine: EngineClient;
  tokenizer: Tokenizer;
  /** Encodes prompts (long ones off the event loop); the tokenizer in place when absent. */
  encoder?: PromptEncoder;
  /** Chat template to use; defaults to the tokenizer's own template (tokenizer.chatTemplate). */
  chatTemplate?: ChatTemplate;
  /** --served-model-name: when set, a request's `model` must be this name or "default" (api-spec §5.1). */
  servedModelName?: string;
  /** --model: shown as `model` in responses when no served name is set, and as `root` in /v1/models. */
  modelPath: string;
  /** --max-model-len: prompt + completion tokens. */
  maxModelLen: number;
  /** --enable-logprob */
  enableLogprob: boolean;
  /** --max-logprobs (default 20): the most alternatives a request may ask for. */
  maxLogprobs?: number;
  /** End-of-generation ids of the model (generation_config / tokenizer). */
  eosTokenIds: number[];
  /** Sampling defaults from the model's generation_config.json, used when a request leaves a field null. */
  generationDefaults?: { temperature?: number; top_p?: number; top_k?: number };
  /** Receives request events for metrics (server/metrics.ts); none are reported when absent. */
  observer?: ServingObserver;
}

/** Token ids of a prompt text, with the encoder when there is one. */
export function encodePrompt(opts: ServingOptions, text: string, addSpecialTokens: boolean): Promise<number[]> {
  if (opts.encoder) return opts.encoder.encode(text, addSpecialTokens);
  return Promise.resolve(opts.tokenizer.encode(text, { addSpecialTokens }));
}

/** The model name responses carry (api-spec §5.1: never the client's string). */
export function responseModelName(opts: ServingOptions): string {
  return opts.servedModelName ?? opts.modelPath;
}
