/**
 * Response shapes (api-spec §6 non-stream, §7 stream). Non-stream objects carry every key (unset → null);
 * stream chunks omit keys that were never set, which is why chunk fields are optional here.
 */

export interface ChatLogprobAlternative {
  token: string;
  logprob: number;
  bytes: number[];
  /** present (null) in non-stream bodies, absent in stream chunks (api-spec §6.3) */
  top_logprobs?: null;
}

export interface ChatLogprobEntry {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: ChatLogprobAlternative[];
}

export interface ChatLogprobs {
  content: ChatLogprobEntry[];
  refusal: null;
}

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: null;
}

export interface Usage {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens: number;
  prompt_tokens_details: { cached_tokens: number; image_tokens: number | null; video_tokens: number | null };
  completion_tokens_details: { reasoning_tokens: number; image_tokens: number };
}

export type FinishReasonOut = 'stop' | 'length';

export interface ChatMessageOut {
  role: 'assistant';
  content: string;
  multimodal_content: null;
  reasoning_content: null;
  tool_calls: null;
  prompt_token_ids: number[] | null;
  completion_token_ids: number[] | null;
  prompt_tokens: string | null;
  completion_tokens: string | null;
}

export interface ChatChoice {
  index: number;
  message: ChatMessageOut;
  logprobs: ChatLogprobs | null;
  draft_logprobs: null;
  prompt_logprobs: null;
  finish_reason: FinishReasonOut;
  speculate_metrics: null;
}

export interface ChatCompletionResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatChoice[];
  usage: Usage;
}

export interface ChatDelta {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
  tool_calls?: null;
  prompt_token_ids?: number[] | null;
  completion_token_ids?: number[] | null;
  prompt_tokens?: string;
  completion_tokens?: string;
}

export interface ChatChunkChoice {
  index: number;
  delta: ChatDelta;
  logprobs?: ChatLogprobs | null;
  draft_logprobs?: null;
  arrival_time?: number;
  finish_reason?: FinishReasonOut;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: ChatChunkChoice[];
  usage?: Usage;
}

export interface CompletionChoice {
  index: number;
  text: string;
  prompt_token_ids: number[] | null;
  completion_token_ids: number[] | null;
  prompt_tokens: string | null;
  completion_tokens: string | null;
  arrival_time: null;
  logprobs: CompletionLogprobs | null;
  draft_logprobs: null;
  prompt_logprobs: null;
  reasoning_content: null;
  finish_reason: FinishReasonOut;
  tool_calls: null;
  speculate_metrics: null;
}

export interface CompletionResponse {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: CompletionChoice[];
  usage: Usage;
}

export interface CompletionChunkChoice {
  index: number;
  text: string;
  prompt_token_ids?: number[] | null;
  completion_token_ids?: number[] | null;
  prompt_tokens?: string | null;
  completion_tokens?: string | null;
  tool_calls?: null;
  reasoning_content?: string;
  arrival_time?: number;
  logprobs?: CompletionLogprobs | null;
  prompt_logprobs?: null;
  draft_logprobs?: null;
  finish_reason?: FinishReasonOut;
}

export interface CompletionChunk {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: CompletionChunkChoice[];
  usage?: Usage;
}

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  root: string;
  parent: null;
  max_model_len: number;
  permission: {
    id: string;
    object: 'model_permission';
    created: number;
    allow_create_engine: boolean;
    allow_sampling: boolean;
    allow_logprobs: boolean;
    allow_search_indices: boolean;
    allow_view: boolean;
    allow_fine_tuning: boolean;
    organization: string;
    group: null;
    is_blocking: boolean;
  }[];
}

export interface ModelList {
  object: 'list';
  data: ModelCard[];
}
