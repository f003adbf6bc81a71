/**
 * Request schemas for /v1/completions and /v1/chat/completions (api-spec §4.1, §4.2), as TypeBox (plain JSON
 * Schema) so fastify's ajv validates them before a handler runs. Conventions from the spec:
 * - unknown keys are ignored (objects are open: no additionalProperties: false);
 * - `null` for an optional field means "use the default", so every optional field also accepts null;
 * - only shape and ranges live here; checks that need server state (logprobs enabled, context window,
 *   served model name) are done in serving/.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';

/** Optional and nullable: absent and null both mean "default". */
function Opt<T extends TSchema>(schema: T) {
  return Type.Optional(Type.Union([schema, Type.Null()]));
}

/**
 * Largest seed FastDeploy accepts (api-spec §4.1). Above 2^53 JSON numbers are not exact anyway; the bound
 * is kept for range compatibility (as a double it is 922337203685477632).
 */
export const MAX_SEED = Number(922337203685477580n);

const StreamOptions = Type.Object({
  include_usage: Opt(Type.Boolean()),
  continuous_usage_stats: Opt(Type.Boolean()),
});

/** Fields both endpoints share (sampling, stopping, streaming, token-id extras). */
const commonFields = {
  model: Opt(Type.String()),
  max_tokens: Opt(Type.Integer()),
  temperature: Opt(Type.Number({ minimum: 0, maximum: 2 })),
  top_p: Opt(Type.Number({ minimum: 0, maximum: 1 })),
  top_k: Opt(Type.Integer({ minimum: -1 })),
  seed: Opt(Type.Integer({ minimum: 0, maximum: MAX_SEED })),
  stop: Opt(Type.Union([Type.String(), Type.Array(Type.String())])),
  stop_token_ids: Opt(Type.Array(Type.Integer({ minimum: 0 }))),
  stream: Opt(Type.Boolean()),
  stream_options: Opt(StreamOptions),
  n: Opt(Type.Integer({ minimum: 1 })),
  return_token_ids: Opt(Type.Boolean()),
  ignore_eos: Opt(Type.Boolean()),
  include_stop_str_in_output: Opt(Type.Boolean()),
  min_tokens: Opt(Type.Integer({ minimum: 0 })),
  user: Opt(Type.String()),
  request_id: Opt(Type.String()),
};

/** One element of a content-part array: {"type":"text","text":…}, {"type":"image_url",…}, … */
const ContentPart = Type.Object({ type: Type.String() });

const ChatMessage = Type.Object({
  role: Type.String(),
  content: Type.Optional(Type.Union([Type.String(), Type.Array(ContentPart), Type.Null()])),
});

export const ChatCompletionRequestSchema = Type.Object({
  ...commonFields,
  messages: Type.Array(ChatMessage),
  max_completion_tokens: Opt(Type.Integer()),
  logprobs: Opt(Type.Boolean()),
  top_logprobs: Opt(Type.Integer({ minimum: 0 })),
  tools: Opt(Type.Array(Type.Object({}))),
  chat_template: Opt(Type.String()),
  chat_template_kwargs: Opt(Type.Object({})),
  add_generation_prompt: Opt(Type.Boolean()),
});

export const CompletionRequestSchema = Type.Object({
  ...commonFields,
  prompt: Type.Union([
    Type.String(),
    Type.Array(Type.String()),
    Type.Array(Type.Integer({ minimum: 0 })),
    Type.Array(Type.Array(Type.Integer({ minimum: 0 }))),
  ]),
  /** number of alternatives per token (completions API: an integer, not a flag) */
  logprobs: Opt(Type.Integer({ minimum: 0 })),
  echo: Opt(Type.Boolean()),
});

export type ChatCompletionRequest = Static<typeof ChatCompletionRequestSchema>;
export type CompletionRequest = Static<typeof CompletionRequestSchema>;
export type ChatMessageInput = Static<typeof ChatMessage>;
