/**
 * Plain TypeScript implementations of every native kernel (the numerics the addon is tested
 * against), the ggml block formats (models.md §2.5), f16/bf16 converters and the llama.cpp-style
 * reference quantizers used to build quantised test weights.
 *
 * Dequantisation reproduces the addon's float32 arithmetic step by step with Math.fround, so it is
 * bit-exact. So is the integer matmul of Q8_0/Q4_0 weights (activations quantised to int8 blocks,
 * see `matmulInt` and native/qmatmul.h). The other kernels accumulate in double and differ from the
 * addon by rounding only.
 *
 * `checkArgs` holds the argument size checks shared with the addon wrapper (index.ts).
 */
import type { AttentionBatch, KvCacheArray, NativeKernels, WeightMatrix } from './types.ts';
import { GgmlType, RopePairing } from './types.ts';

const fround = Math.fround;

// ---- block formats ------------------------------------------------------------------------------

export interface BlockInfo {
  /** elements per block */
  elems: number;
  /** bytes per block */
  bytes: number;
}

const BLOCKS = new Map<GgmlType, BlockInfo>([
  [GgmlType.F32, { elems: 1, bytes: 4 }],
  [GgmlType.F16, { elems: 1, bytes: 2 }],
  [GgmlType.BF16, { elems: 1, bytes: 2 }],
  [GgmlType.Q4_0, { elems: 32, bytes: 18 }],
  [GgmlType.Q4_1, { elems: 32, bytes: 20 }],
  [GgmlType.Q5_0, { elems: 32, bytes: 22 }],
  [GgmlType.Q5_1, { elems: 32, bytes: 24 }],
  [GgmlType.Q8_0, { elems: 32, bytes: 34 }],
  [GgmlType.Q4_K, { elems: 256, bytes: 144 }],
  [GgmlType.Q5_K, { elems: 256, bytes: 176 }],
  [GgmlType.Q6_K, { elems: 256, bytes: 210 }],
]);

/** Whether the kernels support weights of this ggml type. */
export function isSupportedType(type: number): type is GgmlType {
  return BLOCKS.has(type as GgmlType);
}

/** Block geometry of a supported ggml type; throws for unsupported types. */
export function ggmlBlock(type: GgmlType): BlockInfo {
  const b = BLOCKS.get(type);
  if (!b) throw new RangeError(`unsupported ggml type ${type} (${GgmlType[type] ?? 'unknown'})`);
  return b;
}

/** Bytes of one row of `cols` elements; throws if cols is not a whole number of blocks. */
export function ggmlRowBytes(type: GgmlType, cols: number): number {
  const b = ggmlBlock(type);
  if (cols % b.elems !== 0) {
    throw new RangeError(`${GgmlType[type]} rows need a multiple of ${b.elems} columns, got ${cols}`);
  }
  return (cols / b.elems) * b.bytes;
}

// ---- f16 / bf16 ---------------------------------------------------------------------------------

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0];
}

function bitsF32(u: number): number {
  u32Scratch[0] = u;
  return f32Scratch[0];
}

/** float32 (x is first rounded to f32) → IEEE half bits, round to nearest even. */
export function f32ToF16Bits(x: number): number {
  const b = f32Bits(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) !== 0)) h++; // a carry into the exponent is correct
  return sign | h;
}

/** IEEE half bits → number (exact). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant !== 0 ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 (x is first rounded to f32) → bfloat16 bits, round to nearest even. */
export function f32ToBf16Bits(x: number): number {
  const b = f32Bits(x);
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff; // quiet NaN
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits → number (exact). */
export function bf16BitsToF32(h: number): number {
  return bitsF32((h & 0xffff) << 16);
}

/** Little-endian bytes of `values` as F32. */
export function encodeF32(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat32(4 * i, values[i], true);
  return out;
}

/** Little-endian bytes of `values` as F16. */
export function encodeF16(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setUint16(2 * i, f32ToF16Bits(values[i]), true);
  return out;
}

/** Little-endian bytes of `values` as BF16. */
export function encodeBF16(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setUint16(2 * i, f32ToBf16Bits(values[i]), true);
  return out;
}

// ---- reference quantizers (llama.cpp's *_ref semantics) -------------------------------------------

function checkBlocks(values: ArrayLike<number>, what: string): void {
  if (values.length % 32 !== 0) throw new RangeError(`${what}: length ${values.length} is not a multiple of 32`);
}

/** Q8_0 blocks of `values` (length a multiple of 32): d = amax/127, q = round(x/d). */
export function quantizeQ8_0(values: ArrayLike<number>): Uint8Array {
  checkBlocks(values, 'quantizeQ8_0');
  const nb = values.length / 32;
  const out = new Uint8Array(nb * 34);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(fround(values[32 * b + j])));
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    dv.setUint16(34 * b, f32ToF16Bits(d), true);
    for (let j = 0; j < 32; j++) {
      const v = fround(fround(values[32 * b + j]) * id);
      const q = Math.sign(v) * Math.floor(Math.abs(v) + 0.5); // roundf: half away from zero
      dv.setInt8(34 * b + 2 + j, q);
    }
  }
  return out;
}

/**
 * Q4_0 blocks of `values` (length a multiple of 32): d = max/−8 with max the value of largest
 * magnitude (sign kept), q = min(15, trunc(x/d + 8.5)).
 */
export function quantizeQ4_0(values: ArrayLike<number>): Uint8Array {
  checkBlocks(values, 'quantizeQ4_0');
  const nb = values.length / 32;
  const out = new Uint8Array(nb * 18);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < nb; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = fround(values[32 * b + j]);
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fround(max / -8);
    const id = d !== 0 ? fround(1 / d) : 0;
    dv.setUint16(18 * b, f32ToF16Bits(d), true);
    for (let j = 0; j < 16; j++) {
      const x0 = fround(fround(values[32 * b + j]) * id);
      const x1 = fround(fround(values[32 * b + 16 + j]) * id);
      const q0 = Math.min(15, Math.trunc(fround(x0 + 8.5)));
      const q1 = Math.min(15, Math.trunc(fround(x1 + 8.5)));
      out[18 * b + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

// ---- dequantisation -----------------------------------------------------------------------------

function f16At(bytes: Uint8Array, off: number): number {
  return f16BitsToF32(bytes[off] | (bytes[off + 1] << 8));
}

/** Q4_K/Q5_K: 6-bit scale and min of sub-block j (0…7) from the 12 packed bytes at `off`. */
function scaleMinK4(j: number, s: Uint8Array, off: number): [number, number] {
  if (j < 4) return [s[off + j] & 63, s[off + j + 4] & 63];
  return [(s[off + j + 4] & 0x0f) | ((s[off + j - 4] >> 6) << 4), (s[off + j + 4] >> 4) | ((s[off + j] >> 6) << 4)];
}

/** Dequantise `cols` elements (whole blocks) of `type` starting at byte `off` of `src` into dst. */
function dequantize(type: GgmlType, src: Uint8Array, off: number, dst: Float32Array, cols: number): void {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (type) {
    case GgmlType.F32:
      for (let i = 0; i < cols; i++) dst[i] = dv.getFloat32(off + 4 * i, true);
      return;
    case GgmlType.F16:
      for (let i = 0; i < cols; i++) dst[i] = f16BitsToF32(dv.getUint16(off + 2 * i, true));
      return;
    case GgmlType.BF16:
      for (let i = 0; i < cols; i++) dst[i] = bf16BitsToF32(dv.getUint16(off + 2 * i, true));
      return;
    case GgmlType.Q4_0:
      for (let b = 0, o = off, y = 0; b < cols / 32; b++, o += 18, y += 32) {
        const d = f16At(src, o);
        for (let j = 0; j < 16; j++) {
          const q = src[o + 2 + j];
          dst[y + j] = fround(((q & 0x0f) - 8) * d);
          dst[y + j + 16] = fround(((q >> 4) - 8) * d);
        }
      }
      return;
    case GgmlType.Q4_1:
      for (let b = 0, o = off, y = 0; b < cols / 32; b++, o += 20, y += 32) {
        const d = f16At(src, o);
        const m = f16At(src, o + 2);
        for (let j = 0; j < 16; j++) {
          const q = src[o + 4 + j];
          dst[y + j] = fround(fround((q & 0x0f) * d) + m);
          dst[y + j + 16] = fround(fround((q >> 4) * d) + m);
        }
      }
      return;
    case GgmlType.Q5_0:
      for (let b = 0, o = off, y = 0; b < cols / 32; b++, o += 22, y += 32) {
        const d = f16At(src, o);
        const qh = dv.getUint32(o + 2, true);
        for (let j = 0; j < 16; j++) {
          const q = src[o + 6 + j];
          const q0 = (q & 0x0f) | (((qh >>> j) & 1) << 4);
          const q1 = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
          dst[y + j] = fround((q0 - 16) * d);
          dst[y + j + 16] = fround((q1 - 16) * d);
        }
      }
      return;
    case GgmlType.Q5_1:
      for (let b = 0, o = off, y = 0; b < cols / 32; b++, o += 24, y += 32) {
        const d = f16At(src, o);
        const m = f16At(src, o + 2);
        const qh = dv.getUint32(o + 4, true);
        for (let j = 0; j < 16; j++) {
          const q = src[o + 8 + j];
          const q0 = (q & 0x0f) | (((qh >>> j) & 1) << 4);
          const q1 = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
          dst[y + j] = fround(fround(q0 * d) + m);
          dst[y + j + 16] = fround(fround(q1 * d) + m);
        }
      }
      return;
    case GgmlType.Q8_0:
      for (let b = 0, o = off, y = 0; b < cols / 32; b++, o += 34, y += 32) {
        const d = f16At(src, o);
        for (let j = 0; j < 32; j++) dst[y + j] = fround(dv.getInt8(o + 2 + j) * d);
      }
      return;
    case GgmlType.Q4_K:
    case GgmlType.Q5_K: {
      const five = type === GgmlType.Q5_K;
      const size = five ? 176 : 144;
      for (let b = 0, o = off, y = 0; b < cols / 256; b++, o += size) {
        const d = f16At(src, o);
        const dmin = f16At(src, o + 2);
        const qhOff = o + 16; // Q5_K only
        const qsOff = five ? o + 48 : o + 16;
        for (let c = 0; c < 4; c++, y += 64) {
          const [sc1, m1i] = scaleMinK4(2 * c, src, o + 4);
          const [sc2, m2i] = scaleMinK4(2 * c + 1, src, o + 4);
          const d1 = fround(d * sc1);
          const m1 = fround(dmin * m1i);
          const d2 = fround(d * sc2);
          const m2 = fround(dmin * m2i);
          for (let l = 0; l < 32; l++) {
            const q = src[qsOff + 32 * c + l];
            let lo = q & 0x0f;
            let hi = q >> 4;
            if (five) {
              const h = src[qhOff + l];
              lo |= ((h >> (2 * c)) & 1) << 4;
              hi |= ((h >> (2 * c + 1)) & 1) << 4;
            }
            dst[y + l] = fround(fround(d1 * lo) - m1);
            dst[y + l + 32] = fround(fround(d2 * hi) - m2);
          }
        }
      }
      return;
    }
    case GgmlType.Q6_K:
      for (let b = 0, o = off, y = 0; b < cols / 256; b++, o += 210) {
        const d = f16At(src, o + 208);
        for (let h = 0; h < 2; h++, y += 128) {
          const ql = o + 64 * h;
          const qh = o + 128 + 32 * h;
          const sc = o + 192 + 8 * h;
          for (let l = 0; l < 32; l++) {
            const is = l >> 4;
            const hb = src[qh + l];
            const q0 = ((src[ql + l] & 0x0f) | ((hb & 3) << 4)) - 32;
            const q1 = ((src[ql + l + 32] & 0x0f) | (((hb >> 2) & 3) << 4)) - 32;
            const q2 = ((src[ql + l] >> 4) | (((hb >> 4) & 3) << 4)) - 32;
            const q3 = ((src[ql + l + 32] >> 4) | (((hb >> 6) & 3) << 4)) - 32;
            dst[y + l] = fround(fround(d * dv.getInt8(sc + is)) * q0);
            dst[y + l + 32] = fround(fround(d * dv.getInt8(sc + is + 2)) * q1);
            dst[y + l + 64] = fround(fround(d * dv.getInt8(sc + is + 4)) * q2);
            dst[y + l + 96] = fround(fround(d * dv.getInt8(sc + is + 6)) * q3);
          }
        }
      }
      return;
    default:
      throw new RangeError(`unsupported ggml type ${type}`);
  }
}

/** Row `row` of w, dequantised to f32. */
export function dequantizeRow(w: WeightMatrix, row: number): Float32Array {
  checkArgs.weight('dequantizeRow', w);
  if (!Number.isInteger(row) || row < 0 || row >= w.rows) {
    throw new RangeError(`dequantizeRow: row ${row} is outside [0, ${w.rows})`);
  }
  const out = new Float32Array(w.cols);
  dequantize(w.type, w.data, row * ggmlRowBytes(w.type, w.cols), out, w.cols);
  return out;
}

// ---- argument checks (shared with the addon wrapper) ----------------------------------------------

function fail(fn: string, msg: string): never {
  throw new RangeError(`${fn}: ${msg}`);
}

function count(fn: string, name: string, v: number, min = 0): void {
  if (!Number.isInteger(v) || v < min) fail(fn, `${name} must be an integer ≥ ${min}, got ${v}`);
}

function size(fn: string, name: string, a: ArrayLike<number>, need: number): void {
  if (a.length < need) fail(fn, `${name} has ${a.length} elements, needs at least ${need}`);
}

/** Size checks for every kernel; they throw a RangeError naming the kernel and the argument. */
export const checkArgs = {
  weight(fn: string, w: WeightMatrix): void {
    count(fn, 'w.rows', w.rows);
    count(fn, 'w.cols', w.cols);
    if (!isSupportedType(w.type)) fail(fn, `unsupported ggml type ${w.type}`);
    const b = ggmlBlock(w.type);
    if (w.cols % b.elems !== 0) fail(fn, `w.cols = ${w.cols} is not a multiple of the block size ${b.elems}`);
    const need = w.rows * (w.cols / b.elems) * b.bytes;
    if (w.data.length < need) fail(fn, `w.data has ${w.data.length} bytes, needs ${need}`);
  },
  matmul(y: Float32Array, x: Float32Array, T: number, w: WeightMatrix): void {
    count('matmul', 'T', T);
    checkArgs.weight('matmul', w);
    size('matmul', 'y', y, T * w.rows);
    size('matmul', 'x', x, T * w.cols);
  },
  getRows(out: Float32Array, w: WeightMatrix, ids: Int32Array): void {
    checkArgs.weight('getRows', w);
    size('getRows', 'out', out, ids.length * w.cols);
  },
  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, T: number, n: number): void {
    count('rmsNorm', 'T', T);
    count('rmsNorm', 'n', n, 1);
    size('rmsNorm', 'out', out, T * n);
    size('rmsNorm', 'x', x, T * n);
    size('rmsNorm', 'weight', weight, n);
  },
  rope(x: Float32Array, T: number, nHeads: number, headDim: number, pos: Int32Array, invFreq: Float32Array): void {
    count('rope', 'T', T);
    count('rope', 'nHeads', nHeads);
    count('rope', 'headDim', headDim);
    if (headDim % 2 !== 0) fail('rope', `headDim must be even, got ${headDim}`);
    size('rope', 'x', x, T * nHeads * headDim);
    size('rope', 'pos', pos, T);
    size('rope', 'invFreq', invFreq, headDim / 2);
  },
  quantize(type: GgmlType, x: Float32Array): void {
    if (type !== GgmlType.Q8_0 && type !== GgmlType.Q4_0) throw new RangeError(`quantize: type must be Q8_0 or Q4_0, got ${type}`);
    if (x.length % 32 !== 0) throw new RangeError(`quantize: x.length = ${x.length} is not a multiple of 32`);
  },
  add(x: Float32Array, y: Float32Array, n: number): void {
    count('add', 'n', n);
    size('add', 'x', x, n);
    size('add', 'y', y, n);
  },
  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
    count('swiglu', 'n', n);
    size('swiglu', 'out', out, n);
    size('swiglu', 'gate', gate, n);
    size('swiglu', 'up', up, n);
  },
  kvStore(k: Float32Array, v: Float32Array, T: number, kvWidth: number, slots: Int32Array): void {
    count('kvStore', 'T', T);
    count('kvStore', 'kvWidth', kvWidth, 1);
    size('kvStore', 'k', k, T * kvWidth);
    size('kvStore', 'v', v, T * kvWidth);
    size('kvStore', 'slots', slots, T);
  },
  attention(
    out: Float32Array,
    q: Float32Array,
    T: number,
    nHeads: number,
    nKvHeads: number,
    headDim: number,
    batch: AttentionBatch,
  ): void {
    const fn = 'attention';
    count(fn, 'T', T);
    count(fn, 'nHeads', nHeads, 1);
    count(fn, 'nKvHeads', nKvHeads, 1);
    count(fn, 'headDim', headDim, 1);
    count(fn, 'batch.blockSize', batch.blockSize, 1);
    count(fn, 'batch.maxBlocksPerSeq', batch.maxBlocksPerSeq, 1);
    if (nHeads % nKvHeads !== 0) fail(fn, `nHeads (${nHeads}) must be a multiple of nKvHeads (${nKvHeads})`);
    size(fn, 'out', out, T * nHeads * headDim);
    size(fn, 'q', q, T * nHeads * headDim);
    size(fn, 'batch.tokenSeq', batch.tokenSeq, T);
    size(fn, 'batch.tokenPos', batch.tokenPos, T);
  },
};

// ---- kernels ------------------------------------------------------------------------------------

// ---- integer matmul (Q8_0 / Q4_0 weights) -------------------------------------------------------

/** Round half to even, the rounding of nearbyint and of the SIMD float → int conversions. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff < 0.5) return f;
  if (diff > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * fma(a, b, c) for f32 a, b, c with one rounding to f32 (what the C++ fma and the SIMD FMAs compute),
 * where a·b is exact in double (|a| < 2^29 integers times f32). The double sum s can differ from the
 * correctly rounded result only when s lies exactly halfway between two f32 values; the exact error
 * of the double addition (TwoSum) then decides the direction.
 */
export function fmaF32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = fround(s);
  if (r === s || !Number.isFinite(s)) return r;
  const bb = s - p;
  const err = p - (s - bb) + (c - bb);
  if (err === 0) return r;
  const other = 2 * s - r;
  if (fround(other) !== other) return r; // s is not a midpoint: r is right
  return err > 0 ? Math.max(r, other) : Math.min(r, other);
}

/** Activations of one token quantised to int8 blocks of 32 (natural element order). */
export interface QuantizedActivations {
  q: Int8Array;
  /** per-block f32 scale */
  d: Float32Array;
}

/**
 * Q8-style quantisation of the activations (native/qmatmul.h step 1): per block of 32,
 * d = f32(amax / 127), q = round-half-even(f32(x · f32(1 / d))) (q = 0 when d = 0).
 */
export function quantizeActivations(x: ArrayLike<number>, offset: number, cols: number): QuantizedActivations {
  if (cols % 32 !== 0) throw new RangeError(`quantizeActivations: cols = ${cols} is not a multiple of 32`);
  const q = new Int8Array(cols);
  const d = new Float32Array(cols / 32);
  for (let k = 0; k < cols / 32; k++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(fround(x[offset + 32 * k + i])));
    const dk = fround(amax / 127);
    const id = dk !== 0 ? fround(1 / dk) : 0;
    d[k] = dk;
    for (let i = 0; i < 32; i++) q[32 * k + i] = roundHalfEven(fround(fround(x[offset + 32 * k + i]) * id));
  }
  return { q, d };
}

/** Integer weight values and f32 block scales of one Q8_0 / Q4_0 row. */
function intRow(w: WeightMatrix, row: number): { wq: Int8Array; dw: Float32Array } {
  const nb = w.cols / 32;
  const wq = new Int8Array(w.cols);
  const dw = new Float32Array(nb);
  const q4 = w.type === GgmlType.Q4_0;
  const bytes = q4 ? 18 : w.type === GgmlType.Q5_0 ? 22 : 34;
  let o = row * ggmlRowBytes(w.type, w.cols);
  for (let k = 0; k < nb; k++, o += bytes) {
    dw[k] = f16At(w.data, o);
    if (w.type === GgmlType.Q5_0) {
      for (let i = 0; i < 32; i++) wq[32 * k + i] = fiveBit(w.data, o + 2, o + 6, i) - 16;
      continue;
    }
    for (let i = 0; i < 32; i++) {
      if (q4) {
        const b = w.data[o + 2 + (i & 15)];
        wq[32 * k + i] = (i < 16 ? b & 0x0f : b >> 4) - 8;
      } else {
        wq[32 * k + i] = (w.data[o + 2 + i] << 24) >> 24;
      }
    }
  }
  return { wq, dw };
}

/**
 * The integer matmul of Q8_0 / Q4_0 weights, bit-exact with the addon (native/qmatmul.h): per block
 * an exact integer sum P_k, then one f32 FMA chain per output in block order,
 * acc = fma(P_k, f32(dw_k · d_k), acc).
 */
export function matmulInt(y: Float32Array, x: Float32Array, T: number, w: WeightMatrix): void {
  checkArgs.matmul(y, x, T, w);
  if (!isIntMatmulType(w.type)) throw new RangeError(`matmulInt: ${GgmlType[w.type]} is not on the integer route`);
  if (w.type === GgmlType.Q4_K || w.type === GgmlType.Q5_K || w.type === GgmlType.Q4_1 || w.type === GgmlType.Q5_1) {
    matmulIntQ4K(y, x, T, w);
    return;
  }
  if (w.type === GgmlType.Q6_K) {
    matmulIntQ6K(y, x, T, w);
    return;
  }
  const nb = w.cols / 32;
  const acts = Array.from({ length: T }, (_, t) => quantizeActivations(x, t * w.cols, w.cols));
  for (let r = 0; r < w.rows; r++) {
    const { wq, dw } = intRow(w, r);
    for (let t = 0; t < T; t++) {
      const { q, d } = acts[t];
      let acc = 0;
      for (let k = 0; k < nb; k++) {
        let p = 0;
        for (let i = 32 * k; i < 32 * k + 32; i++) p += wq[i] * q[i];
        acc = fmaF32(p, fround(dw[k] * d[k]), acc);
      }
      y[t * w.rows + r] = acc;
    }
  }
}

/** Element i (0…31) of a Q5_0/Q5_1 block: the nibble of qs plus bit i of the 32-bit qh. */
function fiveBit(data: Uint8Array, qhOff: number, qsOff: number, i: number): number {
  const nibble = i < 16 ? data[qsOff + i] & 0x0f : data[qsOff + i - 16] >> 4;
  return nibble | (((data[qhOff + (i >> 3)] >> (i & 7)) & 1) << 4);
}

/** Weight types the integer route serves (native/qmatmul.h). */
export function isIntMatmulType(type: GgmlType): boolean {
  return (
    type === GgmlType.Q8_0 ||
    type === GgmlType.Q4_0 ||
    type === GgmlType.Q4_1 ||
    type === GgmlType.Q5_0 ||
    type === GgmlType.Q5_1 ||
    type === GgmlType.Q4_K ||
    type === GgmlType.Q5_K ||
    type === GgmlType.Q6_K
  );
}

/**
 * Q4_K / Q5_K on the integer route (native/qmatmul.h): per 32-element sub-block the 4-bit (5-bit) u with
 * A = d·sc and B = dmin·m (exact in f32); acc = fma(Σu·q, A·d_k, acc), then fma(−Σq, B·d_k, acc).
 * Q4_1 / Q5_1 (w = d·u + m) take the same route with A = d and B = −m.
 */
function matmulIntQ4K(y: Float32Array, x: Float32Array, T: number, w: WeightMatrix): void {
  const nb = w.cols / 32;
  const acts = Array.from({ length: T }, (_, t) => quantizeActivations(x, t * w.cols, w.cols));
  const sums = acts.map(({ q }) => Float64Array.from({ length: nb }, (_, k) => q.subarray(32 * k, 32 * k + 32).reduce((s, v) => s + v, 0)));
  const u = new Uint8Array(w.cols);
  const A = new Float32Array(nb);
  const B = new Float32Array(nb);
  const rowBytes = ggmlRowBytes(w.type, w.cols);
  const five = w.type === GgmlType.Q5_K;
  const legacy = w.type === GgmlType.Q4_1 || w.type === GgmlType.Q5_1;
  for (let r = 0; r < w.rows; r++) {
    for (let k = 0; legacy && k < nb; k++) {
      const o = r * rowBytes + k * (w.type === GgmlType.Q4_1 ? 20 : 24);
      A[k] = f16At(w.data, o);
      B[k] = -f16At(w.data, o + 2);
      for (let i = 0; i < 32; i++) {
        const nibble = i < 16 ? w.data[o + 4 + i] & 0x0f : w.data[o + 4 + i - 16] >> 4;
        u[32 * k + i] = w.type === GgmlType.Q4_1 ? nibble : fiveBit(w.data, o + 4, o + 8, i);
      }
    }
    for (let s = 0; !legacy && s < w.cols / 256; s++) {
      const o = r * rowBytes + (five ? 176 : 144) * s;
      const d = f16At(w.data, o);
      const dmin = f16At(w.data, o + 2);
      for (let j = 0; j < 8; j++) {
        const [sc, m] = scaleMinK4(j, w.data, o + 4);
        A[8 * s + j] = fround(d * sc);
        B[8 * s + j] = fround(dmin * m);
        for (let i = 0; i < 32; i++) {
          const byte = w.data[o + (five ? 48 : 16) + 32 * (j >> 1) + i];
          const high = five ? ((w.data[o + 16 + i] >> j) & 1) << 4 : 0; // Q5_K: the fifth bit from qh
          u[256 * s + 32 * j + i] = (j & 1 ? byte >> 4 : byte & 0x0f) | high;
        }
      }
    }
    for (let t = 0; t < T; t++) {
      const { q, d } = acts[t];
      let acc = 0;
      for (let k = 0; k < nb; k++) {
        let p = 0;
        for (let i = 32 * k; i < 32 * k + 32; i++) p += u[i] * q[i];
        acc = fmaF32(p, fround(A[k] * d[k]), acc);
        acc = fmaF32(-sums[t][k], fround(B[k] * d[k]), acc);
      }
      y[t * w.rows + r] = acc;
    }
  }
}

/**
 * Q6_K on the integer route (native/qmatmul.h): per 32-element block two halves of 16 with scales
 * s = d·sc (exact in f32) and w = u − 32; acc = fma(P_half, s_half·d_k, acc) for both halves in order.
 */
function matmulIntQ6K(y: Float32Array, x: Float32Array, T: number, w: WeightMatrix): void {
  const nb = w.cols / 32;
  const acts = Array.from({ length: T }, (_, t) => quantizeActivations(x, t * w.cols, w.cols));
  const wq = new Int8Array(w.cols);
  const s = new Float32Array(2 * nb);
  const rowBytes = ggmlRowBytes(w.type, w.cols);
  const dv = new DataView(w.data.buffer, w.data.byteOffset, w.data.byteLength);
  for (let r = 0; r < w.rows; r++) {
    for (let sb = 0; sb < w.cols / 256; sb++) {
      const o = r * rowBytes + 210 * sb;
      const d = f16At(w.data, o + 208);
      for (let e = 0; e < 256; e++) {
        const hh = e >> 7;
        const g = (e & 127) >> 5;
        const l = e & 31;
        const qlByte = w.data[o + 64 * hh + (g & 1) * 32 + l];
        const lo = g < 2 ? qlByte & 0x0f : qlByte >> 4;
        wq[256 * sb + e] = (lo | (((w.data[o + 128 + 32 * hh + l] >> (2 * g)) & 3) << 4)) - 32;
        if ((e & 15) === 0) s[(256 * sb + e) >> 4] = fround(d * dv.getInt8(o + 192 + 8 * hh + 2 * g + (l >> 4)));
      }
    }
    for (let t = 0; t < T; t++) {
      const { q, d } = acts[t];
      let acc = 0;
      for (let k = 0; k < nb; k++) {
        for (let h = 0; h < 2; h++) {
          let p = 0;
          for (let i = 32 * k + 16 * h; i < 32 * k + 16 * h + 16; i++) p += wq[i] * q[i];
          acc = fmaF32(p, fround(s[2 * k + h] * d[k]), acc);
        }
      }
      y[t * w.rows + r] = acc;
    }
  }
}

/**
 * y[T × w.rows] = x[T × w.cols] · wᵀ: the integer route for Q8_0 / Q4_0 (bit-exact, see matmulInt),
 * otherwise f32 activations times dequantised weights accumulated in double.
 */
export function matmul(y: Float32Array, x: Float32Array, T: number, w: WeightMatrix): void {
  checkArgs.matmul(y, x, T, w);
  if (isIntMatmulType(w.type)) matmulInt(y, x, T, w);
  else matmulF32(y, x, T, w);
}

/** y = x · wᵀ with f32 activations and dequantised weights, accumulated in double (any type). */
export function matmulF32(y: Float32Array, x: Float32Array, T: number, w: WeightMatrix): void {
  checkArgs.matmul(y, x, T, w);
  const rb = ggmlRowBytes(w.type, w.cols);
  const row = new Float32Array(w.cols);
  for (let r = 0; r < w.rows; r++) {
    dequantize(w.type, w.data, r * rb, row, w.cols);
    for (let t = 0; t < T; t++) {
      let s = 0;
      const xo = t * w.cols;
      for (let i = 0; i < w.cols; i++) s += x[xo + i] * row[i];
      y[t * w.rows + r] = s;
    }
  }
}

export function getRows(out: Float32Array, w: WeightMatrix, ids: Int32Array): void {
  checkArgs.getRows(out, w, ids);
  const rb = ggmlRowBytes(w.type, w.cols);
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= w.rows)
      throw new RangeError(`getRows: ids[${i}] = ${ids[i]} is outside [0, ${w.rows})`);
    dequantize(w.type, w.data, ids[i] * rb, out.subarray(i * w.cols, (i + 1) * w.cols), w.cols);
  }
}

export function rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, T: number, n: number, eps: number) {
  checkArgs.rmsNorm(out, x, weight, T, n);
  for (let t = 0; t < T; t++) {
    const o = t * n;
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[o + i] * x[o + i];
    const scale = fround(1 / Math.sqrt(ss / n + eps));
    for (let i = 0; i < n; i++) out[o + i] = weight[i] * fround(x[o + i] * scale);
  }
}

export function rope(
  x: Float32Array,
  T: number,
  nHeads: number,
  headDim: number,
  pos: Int32Array,
  invFreq: Float32Array,
  pairing: RopePairing,
): void {
  checkArgs.rope(x, T, nHeads, headDim, pos, invFreq);
  const half = headDim / 2;
  const cos = new Float32Array(half);
  const sin = new Float32Array(half);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = fround(pos[t] * invFreq[i]);
      cos[i] = Math.cos(angle);
      sin[i] = Math.sin(angle);
    }
    for (let h = 0; h < nHeads; h++) {
      const o = (t * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const i0 = pairing === RopePairing.HalfSplit ? o + i : o + 2 * i;
        const i1 = pairing === RopePairing.HalfSplit ? o + i + half : o + 2 * i + 1;
        const a = x[i0];
        const b = x[i1];
        x[i0] = fround(a * cos[i]) - fround(b * sin[i]);
        x[i1] = fround(a * sin[i]) + fround(b * cos[i]);
      }
    }
  }
}

export function swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
  checkArgs.swiglu(out, gate, up, n);
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    out[i] = fround(g / fround(1 + fround(Math.exp(-g)))) * up[i];
  }
}

export function add(x: Float32Array, y: Float32Array, n: number): void {
  checkArgs.add(x, y, n);
  for (let i = 0; i < n; i++) x[i] += y[i]; // a Float32Array store rounds the double sum of two f32: exact f32 add
}

/** Values of a cache as numbers (f16 caches decoded exactly). */
function cacheValues(c: KvCacheArray): ArrayLike<number> {
  return c instanceof Uint16Array ? Float32Array.from(c, f16BitsToF32) : c;
}

/** Negative slots mark padding tokens and are skipped; f16 caches store f32ToF16Bits(value). */
export function kvStore(
  kCache: KvCacheArray,
  vCache: KvCacheArray,
  k: Float32Array,
  v: Float32Array,
  T: number,
  kvWidth: number,
  slots: Int32Array,
): void {
  checkArgs.kvStore(k, v, T, kvWidth, slots);
  const numSlots = Math.floor(Math.min(kCache.length, vCache.length) / kvWidth);
  for (let t = 0; t < T; t++) {
    const s = slots[t];
    if (s < 0) continue;
    if (s >= numSlots) throw new RangeError(`kvStore: slots[${t}] = ${s} is beyond the cache (${numSlots} slots)`);
    for (const [cache, src] of [
      [kCache, k],
      [vCache, v],
    ] as const) {
      const row = src.subarray(t * kvWidth, (t + 1) * kvWidth);
      if (cache instanceof Uint16Array) cache.set(Array.from(row, f32ToF16Bits), s * kvWidth);
      else cache.set(row, s * kvWidth);
    }
  }
}

export function attention(
  out: Float32Array,
  q: Float32Array,
  kCacheIn: KvCacheArray,
  vCacheIn: KvCacheArray,
  T: number,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  scale: number,
  batch: AttentionBatch,
): void {
  checkArgs.attention(out, q, T, nHeads, nKvHeads, headDim, batch);
  const kCache = cacheValues(kCacheIn);
  const vCache = cacheValues(vCacheIn);
  const { tokenSeq, tokenPos, blockTables, maxBlocksPerSeq, blockSize } = batch;
  const group = nHeads / nKvHeads;
  const kvWidth = nKvHeads * headDim;
  const numBlocks = Math.floor(Math.min(kCache.length, vCache.length) / (blockSize * kvWidth));
  const acc = new Float64Array(headDim);
  for (let t = 0; t < T; t++) {
    const seq = tokenSeq[t];
    const len = tokenPos[t] + 1;
    if (seq < 0 || (seq + 1) * maxBlocksPerSeq > blockTables.length) {
      throw new RangeError(`attention: batch.tokenSeq[${t}] = ${seq} has no block table`);
    }
    if (len < 1 || Math.ceil(len / blockSize) > maxBlocksPerSeq) {
      throw new RangeError(`attention: batch.tokenPos[${t}] = ${len - 1} does not fit maxBlocksPerSeq × blockSize`);
    }
    // cache offset of each position's slot
    const slots = new Array<number>(len);
    for (let p = 0; p < len; p++) {
      const block = blockTables[seq * maxBlocksPerSeq + Math.floor(p / blockSize)];
      if (block < 0 || block >= numBlocks) throw new RangeError(`attention: block id ${block} is outside the cache`);
      slots[p] = (block * blockSize + (p % blockSize)) * kvWidth;
    }
    const scores = new Float64Array(len);
    for (let j = 0; j < nHeads; j++) {
      const qo = (t * nHeads + j) * headDim;
      const kvo = Math.floor(j / group) * headDim;
      let max = Number.NEGATIVE_INFINITY;
      for (let p = 0; p < len; p++) {
        let s = 0;
        for (let d = 0; d < headDim; d++) s += q[qo + d] * kCache[slots[p] + kvo + d];
        scores[p] = s * scale;
        max = Math.max(max, scores[p]);
      }
      let sum = 0;
      acc.fill(0);
      for (let p = 0; p < len; p++) {
        const e = Math.exp(scores[p] - max);
        sum += e;
        for (let d = 0; d < headDim; d++) acc[d] += e * vCache[slots[p] + kvo + d];
      }
      for (let d = 0; d < headDim; d++) out[qo + d] = acc[d] / sum;
    }
  }
}

/** Ids of the k largest of x[0..n), best first, lower id first on ties, NaN last. */
export function topK(x: Float32Array, k: number, n = x.length): Int32Array {
  const key = (i: number) => (Number.isNaN(x[i]) ? Number.NEGATIVE_INFINITY : x[i]);
  const ids = Array.from({ length: n }, (_, i) => i).sort((a, b) => key(b) - key(a) || a - b);
  return Int32Array.from(ids.slice(0, Math.max(0, Math.min(k, n))));
}

/** log Σ e^{scale·x_i} in double precision. */
export function logSumExp(x: Float32Array, scale = 1, n = x.length): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (x[i] > max) max = x[i];
  if (max === Number.NEGATIVE_INFINITY) return max;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(scale * (x[i] - max));
  return scale * max + Math.log(sum);
}

/** The first index whose cumulative weight e^{scale·(x_i − max)} exceeds u · Σ weights (double). */
export function sampleCategorical(x: Float32Array, scale: number, u: number, n = x.length): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (x[i] > max) max = x[i];
  const w = Array.from({ length: n }, (_, i) => (x[i] === Number.NEGATIVE_INFINITY ? 0 : Math.exp(scale * (x[i] - max))));
  const target = u * w.reduce((a, b) => a + b, 0);
  let c = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    if (w[i] <= 0) continue;
    c += w[i];
    last = i;
    if (c > target) return i;
  }
  return last;
}

/** The reference kernels with the addon's interface (minus isa, threads and the memory mapping). */
export const reference: Omit<NativeKernels, 'isa' | 'threads' | 'setThreads' | 'mapFile' | 'releasePages'> = {
  matmul,
  /** The reference reads the natural layout only. */
  packWeights: (w: WeightMatrix): WeightMatrix => w,
  getRows,
  rmsNorm,
  rope,
  swiglu,
  add,
  quantize: (type: GgmlType.Q8_0 | GgmlType.Q4_0, x: Float32Array): Uint8Array =>
    type === GgmlType.Q8_0 ? quantizeQ8_0(x) : quantizeQ4_0(x),
  kvStore,
  attention,
  topK,
  logSumExp,
  sampleCategorical,
};
