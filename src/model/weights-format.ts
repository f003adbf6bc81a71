/**
 * Byte-level facts about weight formats shared by the GGUF and safetensors loaders: ggml type
 * names and block sizes (models.md §2.5), F16/BF16 → F32 decoding for the small vectors (norms,
 * biases) that are copied into Float32Array, and the one transposition the Paddle layout needs.
 */
import { GgmlType } from '../native/types.ts';

interface BlockInfo {
  /** elements per block */
  blockSize: number;
  /** bytes per block */
  typeSize: number;
}

/** The ggml types the kernels understand, with their block geometry. */
const SUPPORTED: ReadonlyMap<number, BlockInfo> = new Map([
  [GgmlType.F32, { blockSize: 1, typeSize: 4 }],
  [GgmlType.F16, { blockSize: 1, typeSize: 2 }],
  [GgmlType.BF16, { blockSize: 1, typeSize: 2 }],
  [GgmlType.Q4_0, { blockSize: 32, typeSize: 18 }],
  [GgmlType.Q4_1, { blockSize: 32, typeSize: 20 }],
  [GgmlType.Q5_0, { blockSize: 32, typeSize: 22 }],
  [GgmlType.Q5_1, { blockSize: 32, typeSize: 24 }],
  [GgmlType.Q8_0, { blockSize: 32, typeSize: 34 }],
  [GgmlType.Q4_K, { blockSize: 256, typeSize: 144 }],
  [GgmlType.Q5_K, { blockSize: 256, typeSize: 176 }],
  [GgmlType.Q6_K, { blockSize: 256, typeSize: 210 }],
]);

/** Names of every ggml type id, so errors about unsupported types can say which one. */
const TYPE_NAMES: Record<number, string> = {
  0: 'F32',
  1: 'F16',
  2: 'Q4_0',
  3: 'Q4_1',
  4: 'Q4_2',
  5: 'Q4_3',
  6: 'Q5_0',
  7: 'Q5_1',
  8: 'Q8_0',
  9: 'Q8_1',
  10: 'Q2_K',
  11: 'Q3_K',
  12: 'Q4_K',
  13: 'Q5_K',
  14: 'Q6_K',
  15: 'Q8_K',
  16: 'IQ2_XXS',
  17: 'IQ2_XS',
  18: 'IQ3_XXS',
  19: 'IQ1_S',
  20: 'IQ4_NL',
  21: 'IQ3_S',
  22: 'IQ2_S',
  23: 'IQ4_XS',
  24: 'I8',
  25: 'I16',
  26: 'I32',
  27: 'I64',
  28: 'F64',
  29: 'IQ1_M',
  30: 'BF16',
  34: 'TQ1_0',
  35: 'TQ2_0',
  39: 'MXFP4',
};

export function ggmlTypeName(type: number): string {
  return TYPE_NAMES[type] ?? 'unknown';
}

export function isSupportedGgmlType(type: number): type is GgmlType {
  return SUPPORTED.has(type);
}

/** Throws "tensor X has unsupported type NAME (id)" unless the kernels can use `type`. */
export function checkGgmlType(tensorName: string, type: number): GgmlType {
  if (!isSupportedGgmlType(type)) {
    throw new Error(`tensor ${tensorName} has unsupported type ${ggmlTypeName(type)} (${type})`);
  }
  return type;
}

/** Bytes of one row of `cols` elements; quantisation blocks must tile the row exactly. */
export function rowBytes(tensorName: string, type: GgmlType, cols: number): number {
  const info = SUPPORTED.get(type)!;
  if (cols % info.blockSize !== 0) {
    throw new Error(
      `tensor ${tensorName}: row length ${cols} is not a multiple of the ${ggmlTypeName(type)} block size ${info.blockSize}`,
    );
  }
  return (cols / info.blockSize) * info.typeSize;
}

// f16 → f32 via a shared scratch word: exact for normals, subnormals, inf and NaN.
const scratch = new DataView(new ArrayBuffer(4));

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function bf16ToF32(b: number): number {
  scratch.setUint32(0, b << 16);
  return scratch.getFloat32(0);
}

/** Decode `n` little-endian F32/F16/BF16 values starting at `bytes[0]` into a fresh Float32Array (copy). */
export function decodeToF32(tensorName: string, type: GgmlType, bytes: Uint8Array, n: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (type) {
    case GgmlType.F32:
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    case GgmlType.F16:
      for (let i = 0; i < n; i++) out[i] = f16ToF32(view.getUint16(2 * i, true));
      return out;
    case GgmlType.BF16:
      for (let i = 0; i < n; i++) out[i] = bf16ToF32(view.getUint16(2 * i, true));
      return out;
    default:
      throw new Error(`tensor ${tensorName}: expected an F32/F16/BF16 vector, got ${ggmlTypeName(type)}`);
  }
}

/**
 * Copy columns [col0, col0 + n) of a row-major [rows × totalCols] matrix of `elemSize`-byte
 * elements (2 or 4) into a new row-major [n × rows] matrix, i.e. the transpose of that column
 * slice. Used for Paddle's [in, out] linears (and their fused Q‖K‖V / gate‖up column blocks).
 * Elements are moved as whole 16/32-bit words (no precision change), tiled so both sides stay in
 * cache.
 */
export function transposeColumns(
  src: Uint8Array,
  rows: number,
  totalCols: number,
  col0: number,
  n: number,
  elemSize: number,
): Uint8Array {
  if (elemSize !== 2 && elemSize !== 4) throw new Error(`transposeColumns: unsupported element size ${elemSize}`);
  // word views need an aligned start; a mapped tensor at an odd offset is copied once first
  const aligned = src.byteOffset % elemSize === 0 ? src : src.slice();
  const count = rows * totalCols;
  const { buffer, byteOffset } = aligned;
  const from = elemSize === 2 ? new Uint16Array(buffer, byteOffset, count) : new Uint32Array(buffer, byteOffset, count);
  const to = elemSize === 2 ? new Uint16Array(n * rows) : new Uint32Array(n * rows);
  const TILE = 64;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < n; c0 += TILE) {
      const c1 = Math.min(n, c0 + TILE);
      for (let c = c0; c < c1; c++) {
        const dst = c * rows;
        const srcCol = col0 + c;
        for (let r = r0; r < r1; r++) to[dst + r] = from[r * totalCols + srcCol];
      }
    }
  }
  return new Uint8Array(to.buffer);
}

/** The shortest decimal that rounds to the same f32 (so GGUF's f32 1e-5 reads back as 1e-5, like HF configs). */
export function shortestF32(x: number): number {
  const f = Math.fround(x);
  for (let p = 1; p <= 9; p++) {
    const v = Number(f.toPrecision(p));
    if (Math.fround(v) === f) return v;
  }
  return f;
}
