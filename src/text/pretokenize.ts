// Pre-tokenizer regexes for byte-level BPE GGUF vocabularies, selected by tokenizer.ggml.pre as llama.cpp
// does. Several regexes apply in sequence, each splitting the pieces of the previous one; text between
// matches stays a piece of its own. Inline (?i:…) groups are spelled out because JS only gained them in Node 23.

const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;

const PRE: Record<string, string[]> = {
  // llama.cpp's fallback set for BPE vocabs without a known pre-tokenizer name
  default: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
  'gpt-2': [GPT2],
  gpt2: [GPT2],
  smollm: ['\\p{N}', GPT2],
  'llama-bpe': [LLAMA3],
  llama3: [LLAMA3],
  'llama-v3': [LLAMA3],
  qwen2: [QWEN2],
  'deepseek-r1-qwen': [QWEN2],
};

/** Llama 3 vocabularies emit a pre-token whole when it is a vocabulary entry (HF ignore_merges). */
export const IGNORE_MERGES_PRE = new Set(['llama-bpe', 'llama3', 'llama-v3']);

export function supportedPreTokenizers(): string[] {
  return Object.keys(PRE);
}

export type PreTokenizer = (text: string) => string[];

function splitKeepingGaps(re: RegExp, text: string, out: string[]): void {
  let last = 0;
  for (const m of text.matchAll(re)) {
    const at = m.index as number;
    if (m[0].length === 0) continue;
    if (at > last) out.push(text.slice(last, at));
    out.push(m[0]);
    last = at + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
}

export function preTokenizerFor(pre: string): PreTokenizer {
  const sources = PRE[pre];
  if (!sources) {
    throw new Error(`unsupported tokenizer.ggml.pre "${pre}" (supported: ${supportedPreTokenizers().join(', ')})`);
  }
  const regexes = sources.map((s) => new RegExp(s, 'gu'));
  return (text) => {
    let pieces = [text];
    for (const re of regexes) {
      const next: string[] = [];
      for (const p of pieces) splitKeepingGaps(re, p, next);
      pieces = next;
    }
    return pieces;
  };
}
