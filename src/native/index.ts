/**
 * Typed wrapper of the native addon (build/Release/tsdeploy_native.node, sources in native/).
 *
 * The wrapper is thin: it checks argument sizes (a wrong size would corrupt memory; the addon checks
 * again, together with index ranges) and flattens the structured arguments into the addon's
 * positional ones. Every call is synchronous: it returns when the result is written. Large calls
 * are split over the addon's thread pool (see `native.setThreads`), the calling thread included.
 */
import { createRequire } from 'node:module';
import { checkArgs, isIntMatmulType } from './reference.ts';
import { type AttentionBatch, GgmlType, type KvCacheArray, type NativeKernels, type RopePairing, type WeightMatrix } from './types.ts';

/** Instruction-set paths of the addon's kernels. */
export type Isa = 'scalar' | 'avx2' | 'avx512';

/** The raw addon (positional arguments). */
interface Addon {
  mapFile(path: string): ArrayBuffer;
  releasePages(bytes: Uint8Array): boolean;
  matmul(
    y: Float32Array,
    x: Float32Array,
    T: number,
    type: number,
    rows: number,
    cols: number,
    data: Uint8Array,
    packed?: Uint8Array,
  ): void;
  packWeights(type: number, rows: number, cols: number, data: Uint8Array): ArrayBuffer;
  getRows(out: Float32Array, type: number, rows: number, cols: number, data: Uint8Array, ids: Int32Array): void;
  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, T: number, n: number, eps: number): void;
  rope(
    x: Float32Array,
    T: number,
    nHeads: number,
    headDim: number,
    pos: Int32Array,
    invFreq: Float32Array,
    pairing: number,
  ): void;
  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void;
  add(x: Float32Array, y: Float32Array, n: number): void;
  quantizeRows(type: number, x: Float32Array, out: Uint8Array): void;
  kvStore(
    kCache: KvCacheArray,
    vCache: KvCacheArray,
    k: Float32Array,
    v: Float32Array,
    T: number,
    kvWidth: number,
    slots: Int32Array,
  ): void;
  attention(
    out: Float32Array,
    q: Float32Array,
    kCache: KvCacheArray,
    vCache: KvCacheArray,
    T: number,
    nHeads: number,
    nKvHeads: number,
    headDim: number,
    scale: number,
    tokenSeq: Int32Array,
    tokenPos: Int32Array,
    blockTables: Int32Array,
    maxBlocksPerSeq: number,
    blockSize: number,
  ): void;
  topK(x: Float32Array, n: number, k: number, out: Int32Array): number;
  logSumExp(x: Float32Array, n: number, scale: number): number;
  sampleCategorical(x: Float32Array, n: number, scale: number, u: number): number;
  getIsa(): Isa;
  setIsa(isa: string): void;
  supportedIsas(): Isa[];
  getAmx(): boolean;
  setAmx(on: boolean): void;
  amxSupported(): boolean;
  getThreads(): number;
  setThreads(n: number): void;
  defaultThreads(): number;
}

function load(): Addon {
  const path = '../../build/Release/tsdeploy_native.node';
  try {
    return createRequire(import.meta.url)(path) as Addon;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`tsdeploy: cannot load the native addon (${msg}); build it with \`npm run build:native\``);
  }
}

const addon = load();

export const native: NativeKernels = {
  get isa(): string {
    return addon.getIsa();
  },
  get threads(): number {
    return addon.getThreads();
  },
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`setThreads: n must be an integer ≥ 1, got ${n}`);
    addon.setThreads(n);
  },
  mapFile(path: string): ArrayBuffer {
    return addon.mapFile(path);
  },
  releasePages(bytes: Uint8Array): boolean {
    return addon.releasePages(bytes);
  },
  matmul(y: Float32Array, x: Float32Array, T: number, w: WeightMatrix): void {
    checkArgs.matmul(y, x, T, w);
    addon.matmul(y, x, T, w.type, w.rows, w.cols, w.data, w.packed);
  },
  packWeights(w: WeightMatrix): WeightMatrix {
    checkArgs.weight('packWeights', w);
    if (!isIntMatmulType(w.type)) return w;
    return { ...w, packed: new Uint8Array(addon.packWeights(w.type, w.rows, w.cols, w.data)) };
  },
  getRows(out: Float32Array, w: WeightMatrix, ids: Int32Array): void {
    checkArgs.getRows(out, w, ids);
    addon.getRows(out, w.type, w.rows, w.cols, w.data, ids);
  },
  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, T: number, n: number, eps: number): void {
    checkArgs.rmsNorm(out, x, weight, T, n);
    addon.rmsNorm(out, x, weight, T, n, eps);
  },
  rope(
    x: Float32Array,
    T: number,
    nHeads: number,
    headDim: number,
    pos: Int32Array,
    invFreq: Float32Array,
    pairing: RopePairing,
  ): void {
    checkArgs.rope(x, T, nHeads, headDim, pos, invFreq);
    addon.rope(x, T, nHeads, headDim, pos, invFreq, pairing);
  },
  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void {
    checkArgs.swiglu(out, gate, up, n);
    addon.swiglu(out, gate, up, n);
  },
  add(x: Float32Array, y: Float32Array, n: number): void {
    checkArgs.add(x, y, n);
    addon.add(x, y, n);
  },
  quantize(type: GgmlType.Q8_0 | GgmlType.Q4_0, x: Float32Array): Uint8Array {
    checkArgs.quantize(type, x);
    const out = new Uint8Array((x.length / 32) * (type === GgmlType.Q8_0 ? 34 : 18));
    addon.quantizeRows(type, x, out);
    return out;
  },
  kvStore(
    kCache: KvCacheArray,
    vCache: KvCacheArray,
    k: Float32Array,
    v: Float32Array,
    T: number,
    kvWidth: number,
    slots: Int32Array,
  ): void {
    checkArgs.kvStore(k, v, T, kvWidth, slots);
    addon.kvStore(kCache, vCache, k, v, T, kvWidth, slots);
  },
  attention(
    out: Float32Array,
    q: Float32Array,
    kCache: KvCacheArray,
    vCache: KvCacheArray,
    T: number,
    nHeads: number,
    nKvHeads: number,
    headDim: number,
    scale: number,
    batch: AttentionBatch,
  ): void {
    checkArgs.attention(out, q, T, nHeads, nKvHeads, headDim, batch);
    addon.attention(
      out,
      q,
      kCache,
      vCache,
      T,
      nHeads,
      nKvHeads,
      headDim,
      scale,
      batch.tokenSeq,
      batch.tokenPos,
      batch.blockTables,
      batch.maxBlocksPerSeq,
      batch.blockSize,
    );
  },
  topK(x: Float32Array, k: number, n?: number): Int32Array {
    const len = rowLength('topK', x, n);
    if (!Number.isInteger(k) || k < 0) throw new RangeError(`topK: k must be an integer ≥ 0, got ${k}`);
    const out = new Int32Array(Math.min(k, len));
    addon.topK(x, len, k, out);
    return out;
  },
  logSumExp(x: Float32Array, scale = 1, n?: number): number {
    return addon.logSumExp(x, rowLength('logSumExp', x, n), scale);
  },
  sampleCategorical(x: Float32Array, scale: number, u: number, n?: number): number {
    return addon.sampleCategorical(x, rowLength('sampleCategorical', x, n), scale, u);
  },
};

function rowLength(fn: string, x: Float32Array, n: number | undefined): number {
  const len = n ?? x.length;
  if (!Number.isInteger(len) || len < 0 || len > x.length) throw new RangeError(`${fn}: n = ${n} is outside [0, ${x.length}]`);
  return len;
}

/** The ISA paths this CPU can run (always includes 'scalar'). */
export function supportedIsas(): Isa[] {
  return addon.supportedIsas();
}

/**
 * Switch the kernels' instruction-set path for the whole process (tests and benchmarks; the
 * default is the best supported path, or TSDEPLOY_ISA). Throws for paths the CPU does not support.
 */
export function setIsa(isa: Isa): void {
  addon.setIsa(isa);
}

/**
 * Whether the many-token Q8_0/Q4_0 matmul may use AMX tiles (on by default where the CPU and OS
 * allow; TSDEPLOY_AMX=0 turns it off). Results are the same bits either way (native/qmatmul.h).
 */
export function amxEnabled(): boolean {
  return addon.getAmx();
}

/** AMX tiles available on this CPU and granted by the OS. */
export function amxSupported(): boolean {
  return addon.amxSupported();
}

/** Turn the AMX path on or off for the whole process (tests, benchmarks); throws if unsupported. */
export function setAmx(on: boolean): void {
  addon.setAmx(on);
}

/** Threads the addon uses by default: the cores this process may run on. */
export function defaultThreads(): number {
  return addon.defaultThreads();
}

/** Size the addon's thread pool for the whole process (same as `native.setThreads`). */
export function setThreads(n: number): void {
  native.setThreads(n);
}
