/**
 * State shared by the endpoint handlers of one server: options, the token-string cache, chat templates and
 * the set of response ids in flight.
 */
import { badRequest, internalError } from '../protocol/errors.ts';
import type { Usage } from '../protocol/responses.ts';
import { ChatTemplate } from '../text/chat-template.ts';
import { TokenTexts } from './logprobs.ts';
import type { ServingOptions } from './options.ts';
import { responseModelName } from './options.ts';

/** Per-request `chat_template` strings are parsed once and kept (parsing costs milliseconds). */
const TEMPLATE_CACHE_SIZE = 16;

export class ServingContext {
  readonly texts: TokenTexts;
  readonly modelName: string;
  private defaultTemplate: ChatTemplate | Error | undefined;
  private readonly templates = new Map<string, ChatTemplate>();
  private readonly active = new Set<string>();

  constructor(readonly opts: ServingOptions) {
    this.texts = new TokenTexts(opts.tokenizer);
    this.modelName = responseModelName(opts);
    const src = opts.tokenizer.chatTemplate;
    this.defaultTemplate =
      opts.chatTemplate ?? (src ? new ChatTemplate(src, opts.tokenizer.specialTokenStrings) : undefined);
  }

  /** The server's template, or the request's own `chat_template` (compiled and cached). */
  chatTemplate(override: string | null | undefined): ChatTemplate {
    if (override != null && override !== '') {
      let t = this.templates.get(override);
      if (!t) {
        try {
          t = new ChatTemplate(override, this.opts.tokenizer.specialTokenStrings);
        } catch (err) {
          throw badRequest(
            `Invalid chat_template: ${err instanceof Error ? err.message : String(err)}`,
            'chat_template',
          );
        }
        if (this.templates.size >= TEMPLATE_CACHE_SIZE) this.templates.delete(this.templates.keys().next().value!);
        this.templates.set(override, t);
      }
      return t;
    }
    if (this.defaultTemplate === undefined) {
      // The tokenizer's template is compiled on first use, so a template the Jinja engine cannot parse breaks
      // only chat requests, not the whole server.
      const src = this.opts.tokenizer.chatTemplate;
      if (!src)
        throw badRequest('This model has no chat template; use /v1/completions or pass chat_template.', 'messages');
      try {
        this.defaultTemplate = new ChatTemplate(src, this.opts.tokenizer.specialTokenStrings);
      } catch (err) {
        this.defaultTemplate = err instanceof Error ? err : new Error(String(err));
      }
    }
    if (this.defaultTemplate instanceof Error) {
      throw internalError(`The model's chat template cannot be used: ${this.defaultTemplate.message}`);
    }
    return this.defaultTemplate;
  }

  /**
   * Marks a response id as running. Ids are client-controllable (request_id), and two live requests with the
   * same id would collide in the engine, so a duplicate is refused. Returns the release function.
   */
  claimId(id: string): () => void {
    if (this.active.has(id)) throw badRequest(`request_id ${id} is already in use by a running request.`, 'request_id');
    this.active.add(id);
    return () => this.active.delete(id);
  }
}

export function makeUsage(
  promptTokens: number,
  completionTokens: number,
  cachedTokens: number,
  endpoint: 'chat' | 'completion',
): Usage {
  return {
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completionTokens,
    completion_tokens: completionTokens,
    // api-spec §6.1/§6.2: chat reports image/video counts as 0, completions as null.
    prompt_tokens_details: {
      cached_tokens: cachedTokens,
      image_tokens: endpoint === 'chat' ? 0 : null,
      video_tokens: endpoint === 'chat' ? 0 : null,
    },
    completion_tokens_details: { reasoning_tokens: 0, image_tokens: 0 },
  };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
