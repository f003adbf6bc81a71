// Tokenizer built from GGUF metadata (tokenizer.ggml.* keys, models.md §4.5), following llama.cpp's
// tokenizer: "llama" = SentencePiece-style BPE by scores with byte fallback, "gpt2" = byte-level BPE by
// merge ranks with a pre-tokenizer regex chosen by tokenizer.ggml.pre.
import { ByteLevelBpe } from './bpe.ts';
import { byteLevelPieceBytes, sentencePieceBytes, toByteLevel, utf8Bytes } from './byte-level.ts';
import { IGNORE_MERGES_PRE, type PreTokenizer, preTokenizerFor } from './pretokenize.ts';
import { SpecialSplitter } from './special-split.ts';
import { SpmEncoder } from './spm.ts';
import type { Tokenizer } from './types.ts';

/** tokenizer.ggml.token_type values */
const TokenType = { Normal: 1, Unknown: 2, Control: 3, UserDefined: 4, Unused: 5, Byte: 6 } as const;

/** Control/user-defined token texts that end a turn even when no eot/eom id is declared (as llama.cpp infers). */
const END_OF_GENERATION_TEXTS = new Set([
  '<|eot_id|>',
  '<|eom_id|>',
  '<|im_end|>',
  '<|end|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '<|end_of_text|>',
  '<|end_of_sentence|>',
  '<EOT>',
]);

function get<T>(meta: ReadonlyMap<string, unknown>, key: string, check: (v: unknown) => boolean): T | undefined {
  const v = meta.get(key);
  return v !== undefined && check(v) ? (v as T) : undefined;
}
const isNum = (v: unknown): boolean => typeof v === 'number' || typeof v === 'bigint';
const isBool = (v: unknown): boolean => typeof v === 'boolean';
const isStr = (v: unknown): boolean => typeof v === 'string';
const isArr = (v: unknown): boolean => Array.isArray(v) || ArrayBuffer.isView(v);

function optId(meta: ReadonlyMap<string, unknown>, key: string, n: number): number | undefined {
  const v = get<number | bigint>(meta, key, isNum);
  if (v === undefined) return undefined;
  const id = Number(v);
  // Converters write 0xFFFFFFFF (or -1) for "none".
  return id >= 0 && id < n ? id : undefined;
}

export class GgufTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenIds: number[];
  readonly addBosToken: boolean;
  readonly addEosToken: boolean;
  readonly specialTokenStrings: Record<string, string>;
  readonly chatTemplate: string | undefined;
  /** tokenizer.ggml.model: "llama" or "gpt2" */
  readonly model: string;

  private readonly tokens: readonly string[];
  private readonly types: ArrayLike<number>;
  private readonly eosId: number | undefined;
  private readonly addSpacePrefix: boolean;
  private readonly splitter: SpecialSplitter;
  private readonly spm?: SpmEncoder;
  private readonly bpe?: ByteLevelBpe;
  private readonly preTokenize?: PreTokenizer;
  private readonly bytesCache: (Uint8Array | undefined)[] = [];

  constructor(meta: ReadonlyMap<string, unknown>) {
    this.model = get<string>(meta, 'tokenizer.ggml.model', isStr) ?? 'llama';
    const tokens = get<string[]>(meta, 'tokenizer.ggml.tokens', isArr);
    if (!tokens || tokens.length === 0) throw new Error('GGUF has no tokenizer.ggml.tokens');
    this.tokens = tokens;
    const n = tokens.length;
    this.types =
      get<ArrayLike<number>>(meta, 'tokenizer.ggml.token_type', isArr) ?? new Array(n).fill(TokenType.Normal);

    // Trailing UNUSED fillers only pad the list to the embedding size (ERNIE): not part of the tokenizer.
    let size = n;
    while (size > 0 && this.types[size - 1] === TokenType.Unused) size--;
    this.vocabSize = size;

    const tokenToId = new Map<string, number>();
    for (let id = 0; id < n; id++) tokenToId.set(tokens[id], id); // later duplicates win, as in llama.cpp
    const specials: { text: string; id: number }[] = [];
    for (let id = 0; id < n; id++) {
      const t = this.types[id];
      if (t === TokenType.Unknown || t === TokenType.Control || t === TokenType.UserDefined) {
        specials.push({ text: tokens[id], id });
      }
    }
    this.splitter = new SpecialSplitter(specials);

    const isLlama = this.model === 'llama';
    const pre = get<string>(meta, 'tokenizer.ggml.pre', isStr) ?? 'default';
    const unkId = optId(meta, 'tokenizer.ggml.unknown_token_id', n);
    if (isLlama) {
      const scores = get<ArrayLike<number>>(meta, 'tokenizer.ggml.scores', isArr) ?? new Array(n).fill(0);
      this.spm = new SpmEncoder(tokenToId, scores, unkId ?? tokenToId.get('<unk>'));
    } else if (this.model === 'gpt2') {
      const merges = get<string[]>(meta, 'tokenizer.ggml.merges', isArr);
      if (!merges) throw new Error('GGUF gpt2 tokenizer has no tokenizer.ggml.merges');
      this.bpe = new ByteLevelBpe(tokenToId, merges, IGNORE_MERGES_PRE.has(pre), unkId);
      this.preTokenize = preTokenizerFor(pre);
    } else {
      throw new Error(`unsupported tokenizer.ggml.model "${this.model}" (supported: llama, gpt2)`);
    }

    this.addSpacePrefix = get<boolean>(meta, 'tokenizer.ggml.add_space_prefix', isBool) ?? isLlama;
    this.bosTokenId = optId(meta, 'tokenizer.ggml.bos_token_id', n);
    this.eosId = optId(meta, 'tokenizer.ggml.eos_token_id', n);
    const addBos =
      get<boolean>(meta, 'tokenizer.ggml.add_bos_token', isBool) ?? (isLlama || IGNORE_MERGES_PRE.has(pre));
    this.addBosToken = addBos && this.bosTokenId !== undefined;
    this.addEosToken =
      (get<boolean>(meta, 'tokenizer.ggml.add_eos_token', isBool) ?? false) && this.eosId !== undefined;

    const eos = new Set<number>();
    for (const key of ['eos_token_id', 'eot_token_id', 'eom_token_id']) {
      const id = optId(meta, `tokenizer.ggml.${key}`, n);
      if (id !== undefined) eos.add(id);
    }
    for (const { text, id } of specials) {
      if (this.types[id] !== TokenType.Unknown && END_OF_GENERATION_TEXTS.has(text)) eos.add(id);
    }
    this.eosTokenIds = [...eos];

    const strings: Record<string, string> = {};
    const named: [string, string][] = [
      ['bos_token', 'bos_token_id'],
      ['eos_token', 'eos_token_id'],
      ['unk_token', 'unknown_token_id'],
      ['pad_token', 'padding_token_id'],
      ['cls_token', 'cls_token_id'],
      ['sep_token', 'seperator_token_id'], // sic: llama.cpp's key spelling
      ['mask_token', 'mask_token_id'],
    ];
    for (const [name, key] of named) {
      const id = optId(meta, `tokenizer.ggml.${key}`, n);
      if (id !== undefined) strings[name] = tokens[id];
    }
    this.specialTokenStrings = strings;
    this.chatTemplate = get<string>(meta, 'tokenizer.chat_template', isStr);
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const addSpecial = opts.addSpecialTokens ?? true;
    const out: number[] = [];
    if (addSpecial && this.addBosToken) out.push(this.bosTokenId as number);
    // SentencePiece: the dummy-prefix space goes in front of the text and again after every special token.
    let afterSpecial = true;
    for (const frag of this.splitter.split(text)) {
      if (typeof frag === 'number') {
        out.push(frag);
        afterSpecial = true;
        continue;
      }
      if (this.spm) {
        const t = this.addSpacePrefix && afterSpecial ? ` ${frag}` : frag;
        this.spm.encode(t.replaceAll(' ', '\u2581'), out);
      } else {
        for (const word of (this.preTokenize as PreTokenizer)(frag)) {
          (this.bpe as ByteLevelBpe).encodeWord(toByteLevel(word), out);
        }
      }
      afterSpecial = false;
    }
    if (addSpecial && this.addEosToken) out.push(this.eosId as number);
    return out;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? true;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const id of ids) {
      if (skip && this.isSpecial(id)) continue;
      const b = this.tokenBytes(id);
      parts.push(b);
      total += b.length;
    }
    const all = new Uint8Array(total);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    const text = new TextDecoder().decode(all);
    // Like the HF Llama decoder's Strip(1): the dummy prefix of the first piece is not part of the text.
    return this.spm && this.addSpacePrefix && text.startsWith(' ') ? text.slice(1) : text;
  }

  tokenBytes(id: number): Uint8Array {
    const cached = this.bytesCache[id];
    if (cached) return cached;
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) return new Uint8Array(0);
    const piece = this.tokens[id];
    let bytes: Uint8Array;
    switch (this.types[id]) {
      case TokenType.Unused:
        bytes = new Uint8Array(0);
        break;
      case TokenType.Unknown:
      case TokenType.Control:
      case TokenType.UserDefined:
        bytes = utf8Bytes(piece);
        break;
      default:
        bytes = this.spm ? sentencePieceBytes(piece) : byteLevelPieceBytes(piece);
    }
    this.bytesCache[id] = bytes;
    return bytes;
  }

  idToPiece(id: number): string | undefined {
    return this.tokens[id];
  }

  isSpecial(id: number): boolean {
    const t = this.types[id];
    return t === TokenType.Control || t === TokenType.Unknown;
  }
}

export function loadGgufTokenizer(meta: ReadonlyMap<string, unknown>): GgufTokenizer {
  return new GgufTokenizer(meta);
}
