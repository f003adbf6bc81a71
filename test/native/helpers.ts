/** Shared helpers of the native kernel tests: seeded random data, weight builders, comparisons. */
import assert from 'node:assert/strict';
import {
  encodeBF16,
  encodeF16,
  encodeF32,
  f32ToF16Bits,
  quantizeQ4_0,
  quantizeQ8_0,
} from '../../src/native/reference.ts';
import { GgmlType, type WeightMatrix } from '../../src/native/types.ts';

/** Small deterministic PRNG (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** uniform in [0, 1) */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** uniform in [lo, hi) */
  uniform(lo = -1, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  f32(n: number, lo = -1, hi = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.uniform(lo, hi);
    return a;
  }
  bytes(n: number): Uint8Array {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i++) a[i] = this.int(256);
    return a;
  }
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

/** Copy `bytes` to an odd byte offset of a fresh buffer (weights in mmapped files may be unaligned). */
export function unaligned(bytes: Uint8Array, offset = 1): Uint8Array {
  const buf = new Uint8Array(bytes.length + offset + 3);
  buf.set(bytes, offset);
  return buf.subarray(offset, offset + bytes.length);
}

function setF16(bytes: Uint8Array, off: number, v: number): void {
  const h = f32ToF16Bits(v);
  bytes[off] = h & 0xff;
  bytes[off + 1] = h >> 8;
}

/**
 * Random weights of any supported type. F32/F16/BF16/Q8_0/Q4_0 encode random values (through the
 * reference quantizers); the other block formats get random quant bytes with sane f16 scales.
 */
export function randomWeight(rng: Rng, type: GgmlType, rows: number, cols: number, align = false): WeightMatrix {
  const n = rows * cols;
  let data: Uint8Array;
  const values = () => rng.f32(n);
  switch (type) {
    case GgmlType.F32:
      data = encodeF32(values());
      break;
    case GgmlType.F16:
      data = encodeF16(values());
      break;
    case GgmlType.BF16:
      data = encodeBF16(values());
      break;
    case GgmlType.Q8_0:
      data = quantizeQ8_0(values());
      break;
    case GgmlType.Q4_0:
      data = quantizeQ4_0(values());
      break;
    default: {
      // [block bytes, elements, offsets of f16 d, offsets of f16 m/dmin]
      const layouts: Partial<Record<GgmlType, [number, number, number[], number[]]>> = {
        [GgmlType.Q4_1]: [20, 32, [0], [2]],
        [GgmlType.Q5_0]: [22, 32, [0], []],
        [GgmlType.Q5_1]: [24, 32, [0], [2]],
        [GgmlType.Q4_K]: [144, 256, [0], [2]],
        [GgmlType.Q5_K]: [176, 256, [0], [2]],
        [GgmlType.Q6_K]: [210, 256, [208], []],
      };
      const layout = layouts[type];
      if (!layout) throw new Error(`randomWeight: type ${type}`);
      const [bytes, elems, dOffs, mOffs] = layout;
      const nb = n / elems;
      data = rng.bytes(nb * bytes);
      for (let b = 0; b < nb; b++) {
        for (const o of dOffs) setF16(data, b * bytes + o, rng.uniform(0.001, 0.05));
        for (const o of mOffs) setF16(data, b * bytes + o, rng.uniform(-0.05, 0.05));
      }
    }
  }
  return { type, rows, cols, data: align ? data : unaligned(data) };
}

/** Element-wise |a − b| ≤ atol + rtol·|scale_i| (scale defaults to b). */
export function assertClose(
  actual: Float32Array,
  expected: ArrayLike<number>,
  opts: { rtol?: number; atol?: number; scale?: ArrayLike<number>; what?: string } = {},
): void {
  const { rtol = 1e-5, atol = 0, scale = expected, what = 'value' } = opts;
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const tol = atol + rtol * Math.abs(scale[i]);
    if (!(Math.abs(a - e) <= tol)) {
      assert.fail(`${what}[${i}]: got ${a}, expected ${e} (tolerance ${tol})`);
    }
  }
}

/** Bit-identical float arrays (distinguishes −0/+0 and NaN payloads). */
export function assertBitEqual(actual: Float32Array, expected: Float32Array, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (bits differ)`);
  }
}
