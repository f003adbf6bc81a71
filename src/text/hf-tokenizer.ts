// Tokenizer from Hugging Face files (tokenizer.json + tokenizer_config.json …) on top of
// @huggingface/tokenizers, which reproduces the Rust reference ids (dependencies.md §3). What the library
// lacks is added here: add_bos_token handling, eos ids, special-token strings, chat template, token bytes.
import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import { byteLevelPieceBytes, sentencePieceBytes, utf8Bytes } from './byte-level.ts';
import type { Tokenizer } from './types.ts';

type Json = Record<string, unknown>;

export interface HfTokenizerFiles {
  /** parsed tokenizer.json */
  tokenizerJson: Json;
  /** parsed tokenizer_config.json */
  config?: Json;
  /** parsed special_tokens_map.json (fallback for special-token strings) */
  specialTokensMap?: Json;
  /** parsed generation_config.json (extra eos ids) */
  generationConfig?: Json;
  /** chat_template.jinja, or chat_template.json's template: wins over tokenizer_config's */
  chatTemplate?: string;
}

const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'cls_token', 'sep_token', 'mask_token'];

/** tokenizer_config values are either "<s>" or {content: "<s>", …} (AddedToken dicts). */
function tokenString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

/** tokenizer_config chat_template: a string, or a list of {name, template} (the "default" one is used). */
function namedTemplates(v: unknown): Record<string, string> {
  if (typeof v === 'string') return { default: v };
  const out: Record<string, string> = {};
  if (Array.isArray(v)) {
    for (const t of v) {
      if (t && typeof t.name === 'string' && typeof t.template === 'string') out[t.name] = t.template;
    }
  }
  return out;
}

type PieceKind = 'byte-level' | 'sentencepiece' | 'plain';

/** How vocabulary pieces spell text, read from the decoder chain (ByteLevel, or Metaspace/Replace "▁"). */
function pieceKind(decoder: unknown): PieceKind {
  const types: string[] = [];
  const spacesFromMeta: boolean[] = [];
  const walk = (d: unknown): void => {
    if (!d || typeof d !== 'object') return;
    const o = d as Json;
    if (Array.isArray(o.decoders)) for (const x of o.decoders) walk(x);
    if (typeof o.type === 'string') types.push(o.type);
    const pattern = o.pattern as Json | undefined;
    if (o.type === 'Replace' && pattern?.String === '\u2581') spacesFromMeta.push(true);
  };
  walk(decoder);
  if (types.includes('ByteLevel')) return 'byte-level';
  if (types.includes('Metaspace') || spacesFromMeta.length > 0 || types.includes('ByteFallback'))
    return 'sentencepiece';
  return 'plain';
}

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenIds: number[];
  readonly addBosToken: boolean;
  readonly addEosToken: boolean;
  readonly specialTokenStrings: Record<string, string>;
  readonly chatTemplate: string | undefined;
  /** every named template of tokenizer_config (e.g. "default", "tool_use") */
  readonly chatTemplates: Record<string, string>;

  private readonly lib: HfLibTokenizer;
  private readonly eosId: number | undefined;
  /** tokenizer_config sets add_bos/eos_token explicitly: they decide, not the post-processor (as transformers' Llama classes do) */
  private readonly explicitSpecials: boolean;
  private readonly specialIds = new Set<number>();
  private readonly addedContent = new Map<number, string>();
  private readonly kind: PieceKind;
  private readonly bytesCache: (Uint8Array | undefined)[] = [];

  constructor(files: HfTokenizerFiles) {
    const tj = files.tokenizerJson;
    const config = files.config ?? {};
    this.lib = new HfLibTokenizer(tj, config);
    this.kind = pieceKind(tj.decoder);

    let maxId = -1;
    const model = (tj.model ?? {}) as Json;
    if (Array.isArray(model.vocab))
      maxId = model.vocab.length - 1; // Unigram: [[piece, score]]
    else if (model.vocab && typeof model.vocab === 'object') {
      for (const id of Object.values(model.vocab as Record<string, number>)) if (id > maxId) maxId = id;
    }
    for (const t of (tj.added_tokens ?? []) as { id: number; content: string; special?: boolean }[]) {
      if (t.id > maxId) maxId = t.id;
      this.addedContent.set(t.id, t.content);
      if (t.special) this.specialIds.add(t.id);
    }
    this.vocabSize = maxId + 1;
    for (const t of (config.additional_special_tokens ?? []) as unknown[]) {
      const s = tokenString(t);
      const id = s === undefined ? undefined : this.lib.token_to_id(s);
      if (id !== undefined) this.specialIds.add(id);
    }

    const strings: Record<string, string> = {};
    for (const key of SPECIAL_KEYS) {
      const s = tokenString(config[key]) ?? tokenString(files.specialTokensMap?.[key]);
      if (s !== undefined) strings[key] = s;
    }
    this.specialTokenStrings = strings;
    const idOf = (s: string | undefined): number | undefined => (s === undefined ? undefined : this.lib.token_to_id(s));
    this.bosTokenId = idOf(strings.bos_token);
    this.eosId = idOf(strings.eos_token);

    const eos = new Set<number>();
    if (this.eosId !== undefined) eos.add(this.eosId);
    const gen = files.generationConfig?.eos_token_id;
    for (const id of Array.isArray(gen) ? gen : [gen]) if (typeof id === 'number') eos.add(id);
    this.eosTokenIds = [...eos];

    // What the post-processor adds around an empty text tells its default.
    const around = this.lib.encode('', { add_special_tokens: true }).ids;
    const ppBos = this.bosTokenId !== undefined && around[0] === this.bosTokenId;
    const ppEos = this.eosId !== undefined && around.length > (ppBos ? 1 : 0) && around.at(-1) === this.eosId;
    const cfgBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : undefined;
    const cfgEos = typeof config.add_eos_token === 'boolean' ? config.add_eos_token : undefined;
    this.explicitSpecials = cfgBos !== undefined || cfgEos !== undefined;
    this.addBosToken = (cfgBos ?? ppBos) && this.bosTokenId !== undefined;
    this.addEosToken = (cfgEos ?? ppEos) && this.eosId !== undefined;

    this.chatTemplates = namedTemplates(config.chat_template);
    this.chatTemplate = files.chatTemplate ?? this.chatTemplates.default;
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const addSpecial = opts.addSpecialTokens ?? true;
    if (addSpecial && !this.explicitSpecials) return this.lib.encode(text, { add_special_tokens: true }).ids;
    const ids = this.lib.encode(text, { add_special_tokens: false }).ids;
    if (!addSpecial) return ids;
    if (this.addBosToken) ids.unshift(this.bosTokenId as number);
    if (this.addEosToken) ids.push(this.eosId as number);
    return ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    // The library throws on []. clean_up_tokenization_spaces is never applied, so that a full decode
    // equals the streamed text of the incremental detokenizer (streaming and non-streaming responses agree).
    if (ids.length === 0) return '';
    return this.lib.decode(ids, {
      skip_special_tokens: opts.skipSpecialTokens ?? true,
      clean_up_tokenization_spaces: false,
    });
  }

  tokenBytes(id: number): Uint8Array {
    const cached = this.bytesCache[id];
    if (cached) return cached;
    let bytes: Uint8Array;
    const added = this.addedContent.get(id);
    const piece = added ?? this.lib.id_to_token(id);
    if (piece === undefined || !Number.isInteger(id) || id < 0) bytes = new Uint8Array(0);
    else if (added !== undefined || this.kind === 'plain') bytes = utf8Bytes(piece);
    else if (this.kind === 'byte-level') bytes = byteLevelPieceBytes(piece);
    else bytes = sentencePieceBytes(piece);
    if (id >= 0 && id < this.vocabSize) this.bytesCache[id] = bytes;
    return bytes;
  }

  idToPiece(id: number): string | undefined {
    return this.lib.id_to_token(id);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }
}
