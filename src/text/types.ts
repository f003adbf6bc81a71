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
