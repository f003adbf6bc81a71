import type { Rng } from './rng.ts';
import type { SamplingParams, TokenLogprob } from './types.ts';

/** Below this temperature (or top_p) sampling is greedy, as in FastDeploy. */
const GREEDY_EPSILON = 1e-5;
/** Nucleus sampling first looks at this many best candidates; only if they hold < top_p mass is the whole vocab sorted. */
const NUCLEUS_PREFETCH = 1024;

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
): SampleResult {
  const n = Math.min(vocabLimit, logits.length);
  const row = logits.subarray(0, n);
  // Logprobs describe the model's raw distribution (FastDeploy's default raw_logprobs mode).
  const raw = params.logprobs !== null ? logSoftmax(row) : undefined;
  if (bannedIds) for (const id of bannedIds) if (id < n) row[id] = Number.NEGATIVE_INFINITY;

  const tokenId =
    params.temperature < GREEDY_EPSILON || params.topP < GREEDY_EPSILON || params.topK === 1
      ? argmax(row)
      : sampleStochastic(row, params, rng);

  if (!raw) return { tokenId };
  return { tokenId, logprob: { logprob: raw[tokenId], top: topK(raw, params.logprobs ?? 0) } };
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

function sampleStochastic(row: Float32Array, params: SamplingParams, rng: Rng): number {
  const invT = 1 / params.temperature;
  const limitK = params.topK > 0 ? Math.min(params.topK, row.length) : row.length;
  if (limitK === row.length && params.topP >= 1) return sampleAll(row, invT, rng);
  // Candidates sorted by logit, best first. A prefetch window usually holds the whole nucleus;
  // only when it does not is the full top-k set sorted.
  let ids = bestIds(row, Math.min(limitK, NUCLEUS_PREFETCH));
  let probs = softmaxOf(row, ids, invT);
  if (ids.length < limitK && (params.topP >= 1 || sum(probs) < params.topP)) {
    ids = bestIds(row, limitK);
    probs = softmaxOf(row, ids, invT);
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
function softmaxOf(row: Float32Array, ids: number[], invT: number): Float64Array {
  const max = row[ids[0]] * invT;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] * invT - max);
  const out = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = Math.exp(row[ids[i]] * invT - max) / sum;
  return out;
}
