/** What the front end needs from a tokenizer, whatever file it came from (tokenizer.json or GGUF). */
export interface Tokenizer {
  /** Number of ids the tokenizer knows (≤ the model's embedding rows; larger ids are padding). */
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  /** End-of-generation ids the tokenizer declares (eos, eot, eom…). */
  readonly eosTokenIds: number[];
  /** Whether encode(…, {addSpecialTokens: true}) prepends BOS (tokenizer_config add_bos_token / GGUF add_bos_token). */
  readonly addBosToken: boolean;
  /** Special-token strings for chat templates: bos_token, eos_token, unk_token, pad_token, … */
  readonly specialTokenStrings: Record<string, string>;
  /** Chat template shipped with the tokenizer (tokenizer_config.json, chat_template.jinja or GGUF), if any. */
  readonly chatTemplate: string | undefined;
  /**
   * addSpecialTokens: add BOS/EOS as the tokenizer's post-processor does (default true).
   * Special-token strings in the text (e.g. "<s>") are always parsed as special tokens.
   */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** skipSpecialTokens default true. */
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** The raw bytes a token stands for when it appears inside generated text (special tokens: their content). */
  tokenBytes(id: number): Uint8Array;
  /** The vocabulary string of a token (e.g. "▁Once", "<0x0A>", "Ġthe"). */
  idToPiece(id: number): string | undefined;
  isSpecial(id: number): boolean;
}

/** A chat message as the OpenAI API sends it, after content-part arrays are flattened to strings. */
export interface ChatMessage {
  role: string;
  content: string | null;
  [key: string]: unknown;
}

/* Implemented in src/text (see each file); declared here so serving/ can be written against them.
 *
 * detokenizer.ts:
 *   class IncrementalDetokenizer {
 *     constructor(tokenizer: Tokenizer, opts?: { skipSpecialTokens?: boolean });
 *     push(id: number): string;   // text that became complete with this token (never half a UTF-8 char)
 *     flush(): string;            // whatever is still held back (e.g. an incomplete byte sequence → U+FFFD)
 *   }
 * stop-matcher.ts:
 *   class StopMatcher {
 *     constructor(stops: string[], opts?: { includeStopInOutput?: boolean });
 *     push(text: string): { text: string; stopped: boolean };  // text safe to emit now; stopped once a stop string matched
 *     flush(): string;            // held-back text when generation ends without a stop
 *   }
 * chat-template.ts:
 *   class ChatTemplate {
 *     constructor(source: string, specialTokenStrings: Record<string, string>);
 *     render(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean; tools?: unknown[]; kwargs?: Record<string, unknown> }): string;
 *   }
 * load.ts:
 *   loadHfTokenizer(dir: string): Tokenizer                         // tokenizer.json + tokenizer_config.json (+ chat_template.jinja)
 *   loadGgufTokenizer(meta: ReadonlyMap<string, unknown>): Tokenizer // GGUF tokenizer.* keys (see src/model/gguf.ts for value types)
 */
