/**
 * Deterministic random weights for the synthetic-model generator.
 *
 * Counter-based rather than sequential: element i of a tensor is a pure function of (seed, tensor
 * name, i). So any range of rows can be produced on its own (the generator streams tensors in
 * chunks and permutes q/k rows for llama GGUFs without generating anything twice), every output
 * format gets exactly the same values, and values do not depend on the chunk size.
 */

/** MurmurHash3's 32-bit finaliser: a bijection on u32 with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string (tensor names are ASCII). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** How a tensor's values are distributed. */
export type Init = { kind: 'normal'; std: number } | { kind: 'uniform'; min: number; max: number };

const INV_2_32 = 2 ** -32;

/** log2 of the number of quantile buckets of the normal table. */
const TABLE_BITS = 16;

/**
 * Quantiles of N(0, 1) at u = i / 2^16 (i = 0 … 2^16), with the two infinite ends clamped to the
 * quantiles of 1/4 bucket from the edge (≈ ±4.5σ). Built once by integrating the density with the
 * trapezoid rule on a fine grid and inverting the running sum: a normal value then costs one hash
 * and a linear interpolation instead of Box–Muller's log/sqrt/cos (≈10× faster here, which is most
 * of the generator's time for a 360 M-parameter model). The distribution is a normal truncated at
 * ≈4.5σ with a piecewise-linear quantile function: exactly what random weights need.
 */
const NORMAL_QUANTILES: Float64Array = (() => {
  const n = 1 << TABLE_BITS;
  const lo = -8;
  const dx = 1 / 1024;
  const steps = Math.round((-2 * lo) / dx);
  const cdf = new Float64Array(steps + 1);
  const pdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  for (let k = 1; k <= steps; k++) cdf[k] = cdf[k - 1] + 0.5 * dx * (pdf(lo + (k - 1) * dx) + pdf(lo + k * dx));
  const table = new Float64Array(n + 1);
  let k = 0;
  for (let i = 0; i <= n; i++) {
    const u = Math.min(Math.max(i / n, 0.25 / n), 1 - 0.25 / n) * cdf[steps];
    while (cdf[k + 1] < u) k++;
    table[i] = lo + (k + (u - cdf[k]) / (cdf[k + 1] - cdf[k])) * dx;
  }
  return table;
})();

/** The random stream of one tensor. */
export class TensorRandom {
  private readonly k1: number;
  private readonly k2: number;

  constructor(seed: number, name: string) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
    // both halves of a 53-bit seed matter
    const s = fmix32((seed >>> 0) ^ fmix32(Math.floor(seed / 2 ** 32)));
    this.k1 = fmix32(fnv1a(name) ^ s);
    this.k2 = fmix32(this.k1 ^ 0x9e3779b9);
  }

  /** Uniform u32 for counter c: two finaliser rounds keyed differently, so streams of different tensors are unrelated. */
  private bits(c: number): number {
    return fmix32(fmix32((c + this.k1) >>> 0) ^ this.k2);
  }

  /** out[j] = value of element start + j. */
  fill(out: Float32Array, start: number, init: Init): void {
    if (start + out.length > 2 ** 32) throw new RangeError('tensor too large for a 32-bit element counter');
    if (init.kind === 'uniform') {
      const span = init.max - init.min;
      for (let j = 0; j < out.length; j++) out[j] = init.min + span * this.bits(start + j) * INV_2_32;
      return;
    }
    const std = init.std;
    const q = NORMAL_QUANTILES;
    const shift = 32 - TABLE_BITS;
    const fracScale = 2 ** -shift;
    const mask = (1 << shift) - 1;
    const { k1, k2 } = this;
    // this.bits() written out with int32 intermediates (the hot loop of the generator)
    for (let j = 0; j < out.length; j++) {
      let h = (start + j + k1) | 0;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= (h >>> 16) ^ k2;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      const i = h >>> shift;
      const a = q[i];
      out[j] = std * (a + (q[i + 1] - a) * (h & mask) * fracScale);
    }
  }
}
