// Streaming detokenization: every token maps to the raw bytes it stands for (Tokenizer.tokenBytes), and a
// streaming TextDecoder holds back an incomplete UTF-8 sequence until its last byte arrives (or flush()).
// No leading space is stripped: a completion continues its prompt, so the first token's "▁" is a real
// space (llama.cpp's completion text keeps it; a full HF decode of prompt+completion agrees).
import type { Tokenizer } from './types.ts';

export class IncrementalDetokenizer {
  private decoder = new TextDecoder('utf-8');
  private readonly skipSpecial: boolean;

  constructor(
    private readonly tokenizer: Tokenizer,
    opts: { skipSpecialTokens?: boolean } = {},
  ) {
    this.skipSpecial = opts.skipSpecialTokens ?? true;
  }

  /** Text that became complete with this token (never half a UTF-8 character). */
  push(id: number): string {
    if (this.skipSpecial && this.tokenizer.isSpecial(id)) return '';
    return this.decoder.decode(this.tokenizer.tokenBytes(id), { stream: true });
  }

  /** Whatever is still held back: an incomplete byte sequence comes out as U+FFFD. Resets the state. */
  flush(): string {
    const rest = this.decoder.decode();
    this.decoder = new TextDecoder('utf-8');
    return rest;
  }
}
