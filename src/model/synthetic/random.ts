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

const TWO_PI = 2 * Math.PI;
const INV_2_32 = 2 ** -32;

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

  /**
   * out[j] = value of element start + j. Normal values come in Box–Muller pairs (elements 2p and
   * 2p+1 share counter pair p), so `start` and `out.length` must be even for `normal`.
   */
  fill(out: Float32Array, start: number, init: Init): void {
    if (start + out.length > 2 ** 32) throw new RangeError('tensor too large for a 32-bit element counter');
    if (init.kind === 'uniform') {
      const span = init.max - init.min;
      for (let j = 0; j < out.length; j++) out[j] = init.min + span * this.bits(start + j) * INV_2_32;
      return;
    }
    if (start % 2 !== 0 || out.length % 2 !== 0)
      throw new RangeError('normal values are generated in pairs: start and length must be even');
    const std = init.std;
    for (let j = 0; j < out.length; j += 2) {
      const c = start + j;
      const u1 = (this.bits(c) + 1) * INV_2_32; // (0, 1]: log is finite
      const theta = TWO_PI * this.bits(c + 1) * INV_2_32;
      const r = std * Math.sqrt(-2 * Math.log(u1));
      out[j] = r * Math.cos(theta);
      out[j + 1] = r * Math.sin(theta);
    }
  }
}
