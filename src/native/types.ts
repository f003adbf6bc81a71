/**
 * The contract of the native addon (native/*.cc), shared by the addon wrapper (index.ts) and the
 * plain TypeScript reference (reference.ts) that the tests compare it against.
 *
 * Conventions: every call is batch-shaped (T tokens, possibly of many sequences, in one call);
 * activations are row-major Float32Array [T × width]; weights are row-major [rows × cols] in a
 * ggml block format, with quantisation blocks running along `cols` (the input dimension).
 */

/** ggml type ids (GGUF `ggml_type`), the weight formats the kernels understand. */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  BF16 = 30,
}

/** A weight matrix [rows × cols] whose bytes live in `data` (often a view into a memory-mapped file). */
export interface WeightMatrix {
  type: GgmlType;
  rows: number;
  cols: number;
  data: Uint8Array;
  /**
   * Q8_0/Q4_0/Q4_K only: the same weights in the row-interleaved layout the integer kernels read
   * (`NativeKernels.packWeights`, made once at load). Without it matmul packs on every call.
   */
  packed?: Uint8Array;
}

export enum RopePairing {
  /** pairs (x_i, x_{i+d/2}): HF Llama/Qwen ("NEOX"). */
  HalfSplit = 0,
  /** pairs (x_{2i}, x_{2i+1}): ERNIE, llama.cpp `llama` GGUF ("NORM"). */
  Interleaved = 1,
}

/**
 * One layer's K or V cache: f32 values, or IEEE f16 bit patterns in a Uint16Array (values are
 * rounded to nearest even when stored and widened exactly when read). kCache and vCache of a call
 * have the same element type.
 */
export type KvCacheArray = Float32Array | Uint16Array;

/** Element type of a KV cache. */
export type KvCacheDtype = 'f32' | 'f16';

/** Where each token of a batch sits in the paged KV cache, and which sequence it belongs to. */
export interface AttentionBatch {
  /** per token: index of its sequence in `blockTables` */
  tokenSeq: Int32Array;
  /** per token: absolute position in its sequence; it attends to positions 0..pos (causal) */
  tokenPos: Int32Array;
  /** [numSeqs × maxBlocksPerSeq] block ids, row-major; unused entries may hold anything */
  blockTables: Int32Array;
  maxBlocksPerSeq: number;
  blockSize: number;
}

export interface NativeKernels {
  /** Which instruction set the dispatcher chose ("avx512", "avx2", "scalar"). */
  readonly isa: string;
  /** Threads the kernels use: the calling thread plus threads − 1 pool workers. */
  readonly threads: number;
  /**
   * Size the addon's thread pool (default: the cores this process may run on, or TSDEPLOY_THREADS).
   * Results never depend on it: every output element is computed by one thread in a fixed order.
   */
  setThreads(n: number): void;
  /** Memory-map a file read-only; the mapping lives as long as the returned buffer. */
  mapFile(path: string): ArrayBuffer;
  /**
   * Drop the resident pages of a view into a mapFile mapping (whole pages inside it); reading it
   * again faults them back in from the file. Returns false, doing nothing, for other memory.
   */
  releasePages(bytes: Uint8Array): boolean;
  /** y[T × w.rows] = x[T × w.cols] · wᵀ */
  matmul(y: Float32Array, x: Float32Array, T: number, w: WeightMatrix): void;
  /**
   * w with `packed` added when its type takes the integer route (Q8_0, Q4_0, Q4_K); other weights are
   * returned as they are. Results of matmul never depend on it, only its speed.
   */
  packWeights(w: WeightMatrix): WeightMatrix;
  /** out[i × w.cols …] = dequantised row ids[i] of w (embedding lookup). */
  getRows(out: Float32Array, w: WeightMatrix, ids: Int32Array): void;
  /** out[t] = weight ⊙ x[t] / sqrt(mean(x[t]²) + eps), rows of length n; out may alias x. */
  rmsNorm(out: Float32Array, x: Float32Array, weight: Float32Array, T: number, n: number, eps: number): void;
  /**
   * In-place rotary embedding of x [T × nHeads × headDim]. Pair i of the rotary dims is rotated by
   * pos[t] · invFreq[i] (invFreq has headDim/2 entries, precomputed by the caller incl. any scaling).
   */
  rope(x: Float32Array, T: number, nHeads: number, headDim: number, pos: Int32Array, invFreq: Float32Array, pairing: RopePairing): void;
  /** out[i] = silu(gate[i]) · up[i] for i < n; out may alias gate. */
  swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, n: number): void;
  /** x[i] += y[i] for i < n (the residual connection). */
  add(x: Float32Array, y: Float32Array, n: number): void;
  /** Q8_0 or Q4_0 blocks of x (length a multiple of 32) with ggml's rounding (`--quantization`). */
  quantize(type: GgmlType.Q8_0 | GgmlType.Q4_0, x: Float32Array): Uint8Array;
  /**
   * Write k and v [T × kvWidth] into a layer's caches [numBlocks × blockSize × kvWidth] at
   * slot[t] = block · blockSize + offset (f16 caches: rounded to nearest even).
   */
  kvStore(kCache: KvCacheArray, vCache: KvCacheArray, k: Float32Array, v: Float32Array, T: number, kvWidth: number, slots: Int32Array): void;
  /**
   * Causal GQA attention of q [T × nHeads × headDim] over the paged caches (already holding every
   * token's own k/v). Query head j uses KV head floor(j / (nHeads / nKvHeads)). Softmax in f32 with
   * max subtraction; out [T × nHeads × headDim].
   */
  attention(out: Float32Array, q: Float32Array, kCache: KvCacheArray, vCache: KvCacheArray, T: number, nHeads: number, nKvHeads: number, headDim: number, scale: number, batch: AttentionBatch): void;
  /** Ids of the k largest of x[0..n) (n defaults to x.length), best first; ties: lower id first; NaN last. */
  topK(x: Float32Array, k: number, n?: number): Int32Array;
  /**
   * log Σ_{i<n} e^{scale·x_i} for scale > 0 (default 1), as max + log Σ e^{scale·(x_i − max)} with f32
   * exponentials summed in f64; −∞ entries count 0.
   */
  logSumExp(x: Float32Array, scale?: number, n?: number): number;
  /**
   * An index i < n drawn with probability ∝ e^{scale·x_i} (the sampler's temperature draw, scale =
   * 1/T): the first index whose cumulative weight exceeds u · Σ weights, for u in [0, 1).
   */
  sampleCategorical(x: Float32Array, scale: number, u: number, n?: number): number;
}
