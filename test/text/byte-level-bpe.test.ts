// The GGUF "gpt2" (byte-level BPE) path has no model file to test against, so a toy vocabulary is trained
// here and given to both our GGUF tokenizer and @huggingface/tokenizers (as an equivalent tokenizer.json,
// with the original (?i:…) regexes); the two must agree id for id, for each supported pre-tokenizer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tokenizer as HfLib } from '@huggingface/tokenizers';
import { ByteLevelBpe } from '../../src/text/bpe.ts';
import { BYTE_TO_CHAR, toByteLevel } from '../../src/text/byte-level.ts';
import { IncrementalDetokenizer } from '../../src/text/detokenizer.ts';
import { loadGgufTokenizer } from '../../src/text/load.ts';

const QWEN2 =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3 =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const CORPUS = `Once upon a time, there was a little girl named Lily. She loved to play outside in the park.
One day, she saw a big, red ball. "I'm going to get it!" she said. They'll see. We've 12345 apples and 678 pears.
def tokenize(text): return [t for t in text.split()]  # code   with   spaces\n\n\tand tabs
In 2024 and 2025, 100 of 1000 kids counted 10 20 30 to 2024 and 1000.
THE END. IT'S DONE. Résumé café naïve — “quotes” 日本語のテキスト 😀 emoji 👋🏽 ok?!
`.repeat(3);

const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

/** Greedy BPE training (most frequent pair, ties by pair text) — just enough to get a realistic merge list. */
function train(splitRe: RegExp, nMerges: number): { vocab: string[]; merges: string[] } {
  const words = new Map<string, number>();
  for (const m of CORPUS.matchAll(splitRe)) {
    const w = toByteLevel(m[0]);
    words.set(w, (words.get(w) ?? 0) + 1);
  }
  const seqs = [...words].map(([w, c]) => ({ sym: Array.from(w), c }));
  const vocab = [...BYTE_TO_CHAR];
  const merges: string[] = [];
  for (let i = 0; i < nMerges; i++) {
    const counts = new Map<string, number>();
    for (const { sym, c } of seqs) {
      for (let j = 0; j + 1 < sym.length; j++) {
        const k = `${sym[j]} ${sym[j + 1]}`;
        counts.set(k, (counts.get(k) ?? 0) + c);
      }
    }
    let best = '';
    let bestCount = 0;
    for (const [k, c] of counts) if (c > bestCount || (c === bestCount && k < best)) [best, bestCount] = [k, c];
    if (bestCount < 2) break;
    merges.push(best);
    const [a, b] = best.split(' ');
    if (!vocab.includes(a + b)) vocab.push(a + b);
    for (const s of seqs) {
      const out: string[] = [];
      for (let j = 0; j < s.sym.length; j++) {
        if (j + 1 < s.sym.length && s.sym[j] === a && s.sym[j + 1] === b) {
          out.push(a + b);
          j++;
        } else out.push(s.sym[j]);
      }
      s.sym = out;
    }
  }
  return { vocab, merges };
}

function build(pre: string, hfPreTokenizer: unknown, ignoreMerges: boolean, splitRe: RegExp) {
  const { vocab, merges } = train(splitRe, 300);
  const tokens = [...vocab, ...SPECIALS];
  const specialIds = SPECIALS.map((_, i) => vocab.length + i);
  const meta = new Map<string, unknown>([
    ['tokenizer.ggml.model', 'gpt2'],
    ['tokenizer.ggml.pre', pre],
    ['tokenizer.ggml.tokens', tokens],
    ['tokenizer.ggml.token_type', tokens.map((_, i) => (i >= vocab.length ? 3 : 1))],
    ['tokenizer.ggml.merges', merges],
    ['tokenizer.ggml.bos_token_id', specialIds[0]],
    ['tokenizer.ggml.eos_token_id', specialIds[2]],
    ['tokenizer.ggml.add_bos_token', false],
  ]);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, i) => ({
      id: specialIds[i],
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: hfPreTokenizer,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: ignoreMerges,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
      merges,
    },
  };
  return { gguf: loadGgufTokenizer(meta), hf: new HfLib(tokenizerJson, {}), specialIds };
}

const split = (regex: string) => ({
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
  ],
});

const CASES: [string, unknown, boolean, string][] = [
  ['qwen2', split(QWEN2), false, GPT2],
  ['llama-bpe', split(LLAMA3), true, GPT2],
  [
    'smollm',
    {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Digits', individual_digits: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    false,
    GPT2,
  ],
  ['gpt-2', { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }, false, GPT2],
];

const PROBES = [
  ...CORPUS.split('\n'),
  CORPUS,
  "I'M HERE, YOU'RE THERE, THEY'LL COME. it's we'd",
  '1234567 89 3.14159 2024 20245 1000100',
  '  leading and trailing  ',
  'a\n\n\nb \n c\r\nd',
  '\t\ttabs',
  'héllo wörld 日本語 😀🐶 👋🏽',
  '<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n',
  '',
  ' ',
];

for (const [pre, hfPre, ignoreMerges, trainRe] of CASES) {
  describe(`GGUF gpt2 tokenizer, pre "${pre}"`, () => {
    const { gguf, hf, specialIds } = build(pre, hfPre, ignoreMerges, new RegExp(trainRe, 'gu'));

    it('encodes exactly like @huggingface/tokenizers', () => {
      for (const text of PROBES) {
        assert.deepEqual(gguf.encode(text), hf.encode(text, { add_special_tokens: false }).ids, JSON.stringify(text));
      }
    });

    it('decodes back to the text, in full and streamed', () => {
      for (const text of PROBES) {
        const ids = gguf.encode(text);
        assert.equal(gguf.decode(ids, { skipSpecialTokens: false }), text);
        const detok = new IncrementalDetokenizer(gguf, { skipSpecialTokens: false });
        assert.equal(ids.map((id) => detok.push(id)).join('') + detok.flush(), text);
      }
    });

    it('declares special tokens', () => {
      assert.equal(gguf.addBosToken, false);
      assert.equal(gguf.bosTokenId, specialIds[0]);
      assert.deepEqual(new Set(gguf.eosTokenIds), new Set([specialIds[2], specialIds[0]])); // eos + <|endoftext|>
      assert.equal(gguf.isSpecial(specialIds[1]), true);
      assert.equal(gguf.specialTokenStrings.eos_token, '<|im_end|>');
      assert.equal(gguf.decode([...gguf.encode('<|im_start|>Hi')]), 'Hi');
    });
  });
}

describe('GGUF tokenizer: unsupported settings are errors', () => {
  it('rejects an unknown pre-tokenizer and model', () => {
    const meta = (model: string, pre: string) =>
      new Map<string, unknown>([
        ['tokenizer.ggml.model', model],
        ['tokenizer.ggml.pre', pre],
        ['tokenizer.ggml.tokens', ['a']],
        ['tokenizer.ggml.merges', []],
      ]);
    assert.throws(() => loadGgufTokenizer(meta('gpt2', 'tekken')), /tokenizer.ggml.pre/);
    assert.throws(() => loadGgufTokenizer(meta('bert', 'default')), /tokenizer.ggml.model/);
  });
});

describe('ByteLevelBpe', () => {
  // "b c" ranks before "a b", so merging alone never reaches the vocabulary entry "abc"
  const vocab = new Map(['a', 'b', 'c', 'ab', 'bc', 'abc'].map((t, i) => [t, i]));
  const merges = ['b c', 'a b', 'ab c'];

  it('merges by rank, lowest first', () => {
    const out: number[] = [];
    new ByteLevelBpe(vocab, merges, false, undefined).encodeWord('abc', out);
    assert.deepEqual(out, [0, 4]);
    const out2: number[] = [];
    new ByteLevelBpe(vocab, merges, false, undefined).encodeWord('abab', out2);
    assert.deepEqual(out2, [3, 3]);
  });

  it('with ignore_merges (Llama 3) emits a whole-word vocabulary entry directly', () => {
    const out: number[] = [];
    new ByteLevelBpe(vocab, merges, true, undefined).encodeWord('abc', out);
    assert.deepEqual(out, [5]);
  });
});
