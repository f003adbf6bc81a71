// Chat templates rendered with @huggingface/jinja (matches Python jinja2 as transformers sets it up,
// dependencies.md §5). The template is parsed once and rendered per request.
import { Template } from '@huggingface/jinja';
import type { ChatMessage } from './types.ts';

/** Globals the library defines itself; passing them in the context throws "Variable already declared". */
const BUILT_IN = new Set(['raise_exception', 'strftime_now']);

export class ChatTemplate {
  private readonly template: Template;

  constructor(
    readonly source: string,
    private readonly specialTokenStrings: Record<string, string>,
  ) {
    this.template = new Template(source);
  }

  render(
    messages: ChatMessage[],
    opts: { addGenerationPrompt?: boolean; tools?: unknown[]; kwargs?: Record<string, unknown> } = {},
  ): string {
    // Same layering as transformers' apply_chat_template: special-token strings, then the request's
    // chat_template_kwargs, then the fixed arguments (which kwargs cannot override).
    const ctx: Record<string, unknown> = { ...this.specialTokenStrings };
    for (const [k, v] of Object.entries(opts.kwargs ?? {})) if (!BUILT_IN.has(k)) ctx[k] = v;
    ctx.messages = withParsedToolArguments(messages);
    // transformers passes tools=None when absent; templates test `tools is not none` as well as `if tools`.
    ctx.tools = opts.tools && opts.tools.length > 0 ? opts.tools : null;
    ctx.add_generation_prompt = opts.addGenerationPrompt ?? false;
    if (!('documents' in ctx)) ctx.documents = null;
    return this.template.render(ctx);
  }
}

/**
 * OpenAI sends tool-call arguments as a JSON string, but templates render them with `arguments | tojson`
 * (Qwen2.5, Llama 3.1), which would quote the string again. Parse them into objects first, as vLLM does;
 * text that is not a JSON object is left alone. The caller's messages are not modified.
 */
function withParsedToolArguments(messages: ChatMessage[]): ChatMessage[] {
  return messages.map((m) => {
    if (!Array.isArray(m.tool_calls)) return m;
    const toolCalls = m.tool_calls.map((tc: unknown) => {
      const fn = (tc as { function?: { arguments?: unknown } } | null)?.function;
      if (!fn || typeof fn.arguments !== 'string') return tc;
      try {
        const args: unknown = JSON.parse(fn.arguments);
        if (args && typeof args === 'object' && !Array.isArray(args)) {
          return { ...(tc as object), function: { ...fn, arguments: args } };
        }
      } catch {
        // not JSON: render as given
      }
      return tc;
    });
    return { ...m, tool_calls: toolCalls };
  });
}

/**
 * OpenAI content → plain string: a string stays as is, null/undefined → null, an array of content parts
 * becomes its text parts joined with `sep` (newline, as vLLM does); non-text parts are dropped.
 */
export function flattenContent(content: unknown, sep = '\n'): string | null {
  if (content === null || content === undefined) return null;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return String(content);
  const texts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') texts.push(part);
    else if (part && typeof part === 'object') {
      const p = part as Record<string, unknown>;
      if ((p.type === 'text' || p.type === undefined) && typeof p.text === 'string') texts.push(p.text);
    }
  }
  return texts.join(sep);
}
