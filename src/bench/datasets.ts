/**
 * Synthetic workloads: every request is a prompt plus the exact number of tokens it should generate.
 *
 * Prompts are built as token ids so their length is exact on any tokenizer whose vocabulary covers
 * [FIRST_ID, vocabSize): ids 0–2 are skipped because Llama-family vocabularies put <unk>, <s>, </s>
 * there, and a stray EOS/BOS inside a prompt changes what is being measured. For endpoints that need
 * text (chat), ids become text through the caller's tokenizer (decode) or, without one, through a
 * fixed list of common English words, one word per intended token — the server's usage then reports
 * the true prompt length.
 */
import { Rng } from './rng.ts';

export const FIRST_ID = 3;

export interface BenchRequest {
  /** token ids (sent as a list[int] prompt) or text */
  prompt: number[] | string;
  /** intended prompt length in tokens (the server's usage.prompt_tokens wins when it reports one) */
  promptLen: number;
  /** tokens to generate (sent as max_tokens = min_tokens) */
  outputLen: number;
}

export type PromptFormat = 'ids' | 'text';

export interface WorkloadCommon {
  numPrompts: number;
  vocabSize: number;
  seed: number;
  format: PromptFormat;
  /** token ids → text, for format 'text'; the word list is used when absent */
  decode?: (ids: number[]) => string;
}

export interface RandomWorkload extends WorkloadCommon {
  inputLen: number;
  outputLen: number;
  /** tokens shared verbatim by every prompt, before its own inputLen random tokens */
  prefixLen: number;
  /** lengths are drawn uniformly from [len·(1−r), len·(1+r)]; 0 = fixed lengths */
  rangeRatio: number;
}

export interface PrefixRepetitionWorkload extends WorkloadCommon {
  prefixLen: number;
  suffixLen: number;
  numPrefixes: number;
  outputLen: number;
}

function randomIds(rng: Rng, n: number, vocabSize: number): number[] {
  const ids = new Array<number>(n);
  for (let i = 0; i < n; i++) ids[i] = rng.int(FIRST_ID, vocabSize);
  return ids;
}

function checkCommon(w: WorkloadCommon): void {
  if (!Number.isInteger(w.numPrompts) || w.numPrompts < 1) throw new Error('number of prompts must be ≥ 1');
  if (!Number.isInteger(w.vocabSize) || w.vocabSize <= FIRST_ID)
    throw new Error(`vocab size must be an integer > ${FIRST_ID}, got ${w.vocabSize}`);
}

/** Length drawn from [len·(1−r), len·(1+r)], at least `min`. */
function drawLen(rng: Rng, len: number, ratio: number, min: number): number {
  if (ratio === 0) return Math.max(min, len);
  const lo = Math.floor(len * (1 - ratio));
  const hi = Math.ceil(len * (1 + ratio));
  return Math.max(min, rng.int(lo, hi + 1));
}

// Frequent, mostly single-token English words (for text prompts without a tokenizer).
const WORDS = (
  'the of and to in is was he for it with as his on be at by had are but from or have an they which one you ' +
  'were her all she there would their we him been has when who will more no if out so said what up its about ' +
  'into than them can only other new some could time these two may then do first any my now such like our over'
).split(' ');

function toPrompt(w: WorkloadCommon, ids: number[]): number[] | string {
  if (w.format === 'ids') return ids;
  if (w.decode) return w.decode(ids);
  return ids.map((id) => WORDS[id % WORDS.length]).join(' ');
}

/** --dataset-name random: independent random prompts, optionally behind one shared random prefix. */
export function randomWorkload(w: RandomWorkload): BenchRequest[] {
  checkCommon(w);
  if (w.inputLen < 0 || w.prefixLen < 0 || w.outputLen < 1) throw new Error('input/prefix lengths ≥ 0, output ≥ 1');
  if (!(w.rangeRatio >= 0 && w.rangeRatio < 1)) throw new Error(`range ratio must be in [0, 1), got ${w.rangeRatio}`);
  const rng = new Rng(w.seed);
  const prefix = randomIds(rng, w.prefixLen, w.vocabSize);
  const out: BenchRequest[] = [];
  for (let i = 0; i < w.numPrompts; i++) {
    // An empty prompt is an error on most servers: at least one token overall.
    const inLen = drawLen(rng, w.inputLen, w.rangeRatio, w.prefixLen === 0 ? 1 : 0);
    const outLen = drawLen(rng, w.outputLen, w.rangeRatio, 1);
    const ids = prefix.concat(randomIds(rng, inLen, w.vocabSize));
    out.push({ prompt: toPrompt(w, ids), promptLen: ids.length, outputLen: outLen });
  }
  return out;
}

/**
 * --dataset-name prefix-repetition: numPrefixes long random prefixes, each shared by an equal share of
 * the prompts (each with its own random suffix), in shuffled order — the workload a prefix cache is for.
 */
export function prefixRepetitionWorkload(w: PrefixRepetitionWorkload): BenchRequest[] {
  checkCommon(w);
  if (w.prefixLen < 0 || w.suffixLen < 0 || w.prefixLen + w.suffixLen < 1 || w.outputLen < 1)
    throw new Error('prefix + suffix length must be ≥ 1 and output length ≥ 1');
  if (!Number.isInteger(w.numPrefixes) || w.numPrefixes < 1 || w.numPrefixes > w.numPrompts)
    throw new Error(`number of prefixes must be in [1, ${w.numPrompts}] (the number of prompts)`);
  const rng = new Rng(w.seed);
  const prefixes = Array.from({ length: w.numPrefixes }, () => randomIds(rng, w.prefixLen, w.vocabSize));
  const out: BenchRequest[] = [];
  for (let i = 0; i < w.numPrompts; i++) {
    // Round-robin keeps the shares equal (±1) when numPrompts is not a multiple of numPrefixes.
    const ids = prefixes[i % w.numPrefixes].concat(randomIds(rng, w.suffixLen, w.vocabSize));
    out.push({ prompt: toPrompt(w, ids), promptLen: ids.length, outputLen: w.outputLen });
  }
  // Fisher–Yates, so requests sharing a prefix are spread over the run rather than back to back.
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
