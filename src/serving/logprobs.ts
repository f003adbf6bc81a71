/**
 * Logprob layouts (api-spec §6.3). Token strings are what each token stands for on its own inside generated
 * text (tokenizer.tokenBytes, so a SentencePiece "▁Once" shows as " Once"); a token that is not valid UTF-8
 * by itself (half of a multi-byte character) is shown as "bytes:\xHH…", the form FastDeploy uses.
 */
import type { TokenLogprob } from '../engine/types.ts';
import type { ChatLogprobAlternative, ChatLogprobEntry, CompletionLogprobs } from '../protocol/responses.ts';
import type { Tokenizer } from '../text/types.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function hexBytes(bytes: Uint8Array): string {
  let s = 'bytes:';
  for (const b of bytes) s += `\\x${b.toString(16).padStart(2, '0')}`;
  return s;
}

/**
 * JSON has no -Infinity (JSON.stringify would write null); impossible tokens get a very negative finite
 * logprob instead, as vLLM does.
 */
export function finiteLogprob(x: number): number {
  return Number.isFinite(x) ? x : x > 0 ? 0 : -9999;
}

/** Per-tokenizer cache of token display strings and their bytes (the same ids recur constantly). */
export class TokenTexts {
  private readonly cache = new Map<number, { text: string; bytes: number[] }>();

  constructor(private readonly tokenizer: Tokenizer) {}

  get(id: number): { text: string; bytes: number[] } {
    let hit = this.cache.get(id);
    if (!hit) {
      const raw = this.tokenizer.tokenBytes(id);
      let text: string;
      try {
        text = strictUtf8.decode(raw);
        if (text.includes('\uFFFD')) text = hexBytes(raw);
      } catch {
        text = hexBytes(raw);
      }
      hit = { text, bytes: Array.from(raw) };
      this.cache.set(id, hit);
    }
    return hit;
  }

  text(id: number): string {
    return this.get(id).text;
  }
}

/**
 * Chat entries: one per generated token; `top_logprobs` holds the requested number of alternatives, best
 * first (the sampled token reappears when it ranks among them). Non-stream bodies carry an inner
 * `top_logprobs: null` on each alternative, stream chunks omit it.
 */
export function chatLogprobEntries(
  texts: TokenTexts,
  ids: readonly number[],
  lps: readonly TokenLogprob[],
  topN: number,
  stream: boolean,
): ChatLogprobEntry[] {
  const out: ChatLogprobEntry[] = [];
  for (let i = 0; i < ids.length && i < lps.length; i++) {
    const t = texts.get(ids[i]);
    const top: ChatLogprobAlternative[] = lps[i].top.slice(0, topN).map((alt) => {
      const a = texts.get(alt.id);
      const entry: ChatLogprobAlternative = { token: a.text, logprob: finiteLogprob(alt.logprob), bytes: a.bytes };
      if (!stream) entry.top_logprobs = null;
      return entry;
    });
    out.push({ token: t.text, logprob: finiteLogprob(lps[i].logprob), bytes: t.bytes, top_logprobs: top });
  }
  return out;
}

/**
 * Completions layout. Each top_logprobs dict holds the sampled token plus the requested alternatives
 * (so `logprobs` or `logprobs`+1 keys, as OpenAI and vLLM do; FastDeploy's newest code also includes the
 * sampled token). text_offset stays null as in the reference.
 */
export function completionLogprobs(
  texts: TokenTexts,
  ids: readonly number[],
  lps: readonly TokenLogprob[],
  topN: number,
): CompletionLogprobs {
  const result: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: null };
  for (let i = 0; i < ids.length && i < lps.length; i++) {
    const token = texts.text(ids[i]);
    result.tokens.push(token);
    const logprob = finiteLogprob(lps[i].logprob);
    result.token_logprobs.push(logprob);
    // A Map, not an object literal: token strings such as "__proto__" or "toString" must be plain keys.
    const dict = new Map<string, number>([[token, logprob]]);
    for (const alt of lps[i].top.slice(0, topN)) {
      const key = texts.text(alt.id);
      // Two ids can display the same; keep the first (the sampled or the better-ranked one).
      if (!dict.has(key)) dict.set(key, finiteLogprob(alt.logprob));
    }
    result.top_logprobs.push(Object.fromEntries(dict));
  }
  return result;
}

/** Appends one output's completion logprobs to an accumulated layout (non-stream responses). */
export function appendCompletionLogprobs(into: CompletionLogprobs, more: CompletionLogprobs): void {
  into.tokens.push(...more.tokens);
  into.token_logprobs.push(...more.token_logprobs);
  into.top_logprobs.push(...more.top_logprobs);
}
