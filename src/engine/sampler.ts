import { native } from '../native/index.ts';
import type { Rng } from './rng.ts';
import type { SamplingParams, TokenLogprob } from './types.ts';

/** Below this temperature (or top_p) sampling is greedy, as in FastDeploy. */
const GREEDY_EPSILON = 1e-5;
/** Nucleus sampling first looks at this many best candidates; only if they hold < top_p mass is the whole vocab sorted. */
const NUCLEUS_PREFETCH = 1024;
/** From this many candidate ids on, the vocabulary-wide loops run in the addon (NativeKernels.topK etc.). */
const NATIVE_MIN_VOCAB = 4096;

/**
 * The vocabulary-wide loops of sampling. Large vocabularies (≈100k ids: a few ms per token in plain
 * TypeScript, and O(V²) for a full nucleus sort) use the addon's topK / logSumExp /
 * sampleCategorical; small ones (and tests of the exact arithmetic) the TypeScript versions.
 */
export interface VocabOps {
  /** ids of the k largest values, best first, lower id first on ties */
  bestIds(x: Float32Array, k: number): ArrayLike<number>;
  /** raw log-softmax at `ids` and at `id` (one pass over the row) */
  logprobs(x: Float32Array, id: number, ids: ArrayLike<number>): { logprob: number; top: number[] };
  /** softmax of x/T over the whole row, evaluated at `ids` */
  probsOf(x: Float32Array, ids: ArrayLike<number>, invT: number): Float64Array;
  /** an index drawn with probability ∝ e^{x_i/T} */
  sampleAll(x: Float32Array, invT: number, rng: Rng): number;
}

export const tsVocabOps: VocabOps = {
  bestIds,
  logprobs(x, id, ids) {
    const raw = logSoftmax(x);
    return { logprob: raw[id], top: Array.from(ids, (i) => raw[i]) };
  },
  probsOf: softmaxOf,
  sampleAll,
};

export const nativeVocabOps: VocabOps = {
  bestIds: (x, k) => native.topK(x, k),
  logprobs(x, id, ids) {
    const lse = native.logSumExp(x, 1);
    return { logprob: x[id] - lse, top: Array.from(ids, (i) => x[i] - lse) };
  },
  probsOf(x, ids, invT) {
    const lse = native.logSumExp(x, invT);
    return Float64Array.from(ids, (i) => Math.exp(x[i] * invT - lse));
  },
  sampleAll: (x, invT, rng) => native.sampleCategorical(x, invT, rng.next()),
};

export interface SampleResult {
  tokenId: number;
  logprob?: TokenLogprob;
}

/**
 * Picks the next token from one row of logits. `vocabLimit` masks padding rows (ids ≥ the
 * tokenizer's size), which must never be sampled nor reported.
 */
export function sampleToken(
  logits: Float32Array,
  vocabLimit: number,
  params: SamplingParams,
  rng: Rng,
  bannedIds?: Iterable<number>,
  ops: VocabOps = Math.min(vocabLimit, logits.length) >= NATIVE_MIN_VOCAB ? nativeVocabOps : tsVocabOps,
): SampleResult {
  const n = Math.min(vocabLimit, logits.length);
  const row = logits.subarray(0, n);
  // Logprobs describe the model's raw distribution (FastDeploy's default raw_logprobs mode), so the
  // row is kept until the token is known; banned ids only change the copy that is sampled from.
  const raw = params.logprobs !== null ? row.slice() : undefined;
  const topIds = raw ? ops.bestIds(raw, params.logprobs ?? 0) : undefined;
  if (bannedIds) for (const id of bannedIds) if (id < n) row[id] = Number.NEGATIVE_INFINITY;

  const tokenId =
    params.temperature < GREEDY_EPSILON || params.topP < GREEDY_EPSILON || params.topK === 1
      ? ops.bestIds(row, 1)[0]
      : sampleStochastic(row, params, rng, ops);

  if (!raw || !topIds) return { tokenId };
  const lp = ops.logprobs(raw, tokenId, topIds);
  return { tokenId, logprob: { logprob: lp.logprob, top: Array.from(topIds, (id, i) => ({ id, logprob: lp.top[i] })) } };
}

/** Index of the largest value; the lowest id wins ties so greedy decoding is reproducible. */
export function argmax(x: Float32Array): number {
  let best = 0;
  let bestValue = x[0];
  for (let i = 1; i < x.length; i++) {
    if (x[i] > bestValue) {
      bestValue = x[i];
      best = i;
    }
  }
  return best;
}

export function logSoftmax(x: Float32Array): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] - lse;
  return out;
}

/** The k largest entries, best first (ties: lower id first). */
export function topK(x: ArrayLike<number>, k: number): { id: number; logprob: number }[] {
  if (k <= 0) return [];
  const ids = bestIds(x, k);
  return ids.map((id) => ({ id, logprob: x[id] }));
}

/** Ids of the k largest values, sorted best first, lower id first on ties. O(V·log k). */
function bestIds(x: ArrayLike<number>, k: number): number[] {
  k = Math.min(k, x.length);
  // A small sorted buffer suffices: k is at most a few hundred in every caller except nucleus fallback.
  const heap: number[] = [];
  const better = (a: number, b: number): boolean => x[a] > x[b] || (x[a] === x[b] && a < b);
  for (let i = 0; i < x.length; i++) {
    if (heap.length === k && !better(i, heap[heap.length - 1])) continue;
    let lo = 0;
    let hi = heap.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (better(heap[mid], i)) lo = mid + 1;
      else hi = mid;
    }
    heap.splice(lo, 0, i);
    if (heap.length > k) heap.pop();
  }
  return heap;
}

function sampleStochastic(row: Float32Array, params: SamplingParams, rng: Rng, ops: VocabOps): number {
  const invT = 1 / params.temperature;
  const limitK = params.topK > 0 ? Math.min(params.topK, row.length) : row.length;
  if (limitK === row.length && params.topP >= 1) return ops.sampleAll(row, invT, rng);
  // Candidates sorted by logit, best first. A prefetch window usually holds the whole nucleus;
  // only when it does not are more (finally the full top-k set) sorted.
  let ids = ops.bestIds(row, Math.min(limitK, NUCLEUS_PREFETCH));
  let probs = ops.probsOf(row, ids, invT);
  for (const window of [16 * NUCLEUS_PREFETCH, limitK]) {
    if (!(ids.length < limitK && (params.topP >= 1 || sum(probs) < params.topP))) break;
    ids = ops.bestIds(row, Math.min(limitK, window));
    probs = ops.probsOf(row, ids, invT);
  }
  // Nucleus: the smallest prefix whose mass reaches top_p.
  let keep = probs.length;
  if (params.topP < 1) {
    let cum = 0;
    for (let i = 0; i < probs.length; i++) {
      cum += probs[i];
      if (cum >= params.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  return ids[pick(probs, keep, rng)];
}

/** Plain temperature sampling over the whole vocabulary (no truncation, so no sorting). */
function sampleAll(row: Float32Array, invT: number, rng: Rng): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  const probs = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) probs[i] = Math.exp((row[i] - max) * invT);
  return pick(probs, probs.length, rng);
}

/** Draws an index < keep with probability proportional to weights[i]. */
function pick(weights: Float64Array, keep: number, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < keep; i++) total += weights[i];
  let u = rng.next() * total;
  for (let i = 0; i < keep; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return keep - 1;
}

function sum(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v;
  return s;
}

/** Softmax over the whole row, evaluated only at `ids` (so probabilities are relative to the full vocab). */
function softmaxOf(row: Float32Array, ids: ArrayLike<number>, invT: number): Float64Array {
  const max = row[ids[0]] * invT;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] * invT - max);
  const out = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = Math.exp(row[ids[i]] * invT - max) / sum;
  return out;
}
