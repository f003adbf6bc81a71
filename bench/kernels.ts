/**
 * Micro-benchmark of the native kernels on ERNIE-0.3B shapes (random weights, no model needed).
 *
 *   node --import tsx bench/kernels.ts [--types f32,bf16,q8_0,q4_0] [--threads 1,2] [--repeats 15]
 *                                      [--only decode,batch,attention] [--isa avx512|avx2|scalar]
 *
 * decode: one token (T = 1) through the LM head (103424 × 1024) and the FFN shapes, reported as
 * weight bytes streamed per second (the bound is the machine's memory bandwidth).
 * batch: T = 16 / 64 / 512 tokens through the FFN gate shape (3072 × 1024) and the LM head (T = 16),
 * reported as GFLOP/s (2 · T · rows · cols per call).
 * attention: ERNIE-0.3B attention (16 query heads, 2 KV heads of 128) over f32 and f16 KV caches:
 * decode (8 sequences × 1 token at context 1024 and 4096, reported as KV bytes read per second) and a
 * 512-token causal prefill chunk.
 *
 * Every number is the median of `repeats` timed calls after warm-up calls; compare ratios, the machine
 * may be shared.
 */
import { randomFillSync } from 'node:crypto';
import { native, setIsa, setThreads } from '../src/native/index.ts';
import { ggmlRowBytes } from '../src/native/reference.ts';
import { type AttentionBatch, GgmlType, type KvCacheArray, type WeightMatrix } from '../src/native/types.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const TYPES: Record<string, GgmlType> = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  bf16: GgmlType.BF16,
  q8_0: GgmlType.Q8_0,
  q4_0: GgmlType.Q4_0,
  q4_k: GgmlType.Q4_K,
  q5_k: GgmlType.Q5_K,
  q6_k: GgmlType.Q6_K,
};
const types = (args.get('types') ?? 'f32,bf16,q8_0,q4_0').split(',');
const threadCounts = (args.get('threads') ?? '1,2').split(',').map(Number);
const repeats = Number(args.get('repeats') ?? 15);
const only = new Set((args.get('only') ?? 'decode,batch,attention').split(','));
if (args.has('isa')) setIsa(args.get('isa') as 'avx512');

/** Random weights of the right format: f16 scales of blocks in a sane range, finite F16/BF16 values. */
function randomWeight(type: GgmlType, rows: number, cols: number): WeightMatrix {
  const rb = ggmlRowBytes(type, cols);
  const data = new Uint8Array(rb * rows);
  for (let off = 0; off < data.length; off += 65536) randomFillSync(data.subarray(off, Math.min(data.length, off + 65536)));
  if (type === GgmlType.F32) {
    const f = new Float32Array(data.buffer);
    for (let i = 0; i < f.length; i++) f[i] = (((i * 2654435761) >>> 0) / 2 ** 32 - 0.5) * 0.06;
  } else if (type === GgmlType.F16 || type === GgmlType.BF16) {
    const h = new Uint16Array(data.buffer);
    const expBits = type === GgmlType.F16 ? 0x7c00 : 0x7f80;
    const small = type === GgmlType.F16 ? 0x2000 : 0x3c00; // ≈ 0.008
    for (let i = 0; i < h.length; i++) h[i] = (h[i] & ~expBits & 0xffff) | small;
  } else {
    const superBlock = type === GgmlType.Q4_K || type === GgmlType.Q5_K || type === GgmlType.Q6_K;
    const bb = ggmlRowBytes(type, 256) / (superBlock ? 1 : 8);
    for (let o = 0; o < data.length; o += bb) {
      const d = type === GgmlType.Q6_K ? o + 208 : o; // Q6_K keeps d at the end of its block
      data[d] = 0x00;
      data[d + 1] = 0x20; // f16 0.0078 (Q4_K/Q5_K: d, then dmin)
      if (type === GgmlType.Q4_K || type === GgmlType.Q5_K) {
        data[o + 2] = 0x00;
        data[o + 3] = 0x20;
      }
    }
  }
  return native.packWeights({ type, rows, cols, data });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median milliseconds of fn over `repeats` runs (after two warm-up runs). */
function time(fn: () => void, n = repeats): number {
  fn();
  fn();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ts);
}

function rnd(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 2;
  return a;
}

function report(line: string): void {
  console.log(line);
}

console.log(`isa ${native.isa}, repeats ${repeats}, threads ${threadCounts.join('/')}`);
const SHAPES = {
  lmHead: [103424, 1024],
  ffnUp: [3072, 1024],
  ffnDown: [1024, 3072],
} as const;

for (const name of types) {
  const type = TYPES[name];
  if (type === undefined) throw new Error(`unknown type ${name}`);
  const ws = Object.fromEntries(
    Object.entries(SHAPES).map(([k, [r, c]]) => [k, randomWeight(type, r, c)]),
  ) as Record<keyof typeof SHAPES, WeightMatrix>;
  for (const threads of threadCounts) {
    setThreads(threads);
    if (only.has('decode')) {
      for (const [shape, w] of Object.entries(ws)) {
        const x = rnd(w.cols);
        const y = new Float32Array(w.rows);
        const ms = time(() => native.matmul(y, x, 1, w), shape === 'lmHead' ? repeats : repeats * 4);
        const gb = w.data.length / 1e9;
        report(`decode ${name.padEnd(5)} ${shape.padEnd(8)} T=1   threads=${threads}: ${ms.toFixed(3).padStart(8)} ms  ${(gb / (ms / 1e3)).toFixed(1).padStart(6)} GB/s`);
      }
    }
    if (only.has('batch')) {
      for (const [shape, T] of [
        ['ffnUp', 16],
        ['ffnUp', 64],
        ['ffnUp', 512],
        ['lmHead', 16],
      ] as const) {
        const w = ws[shape];
        const x = rnd(T * w.cols);
        const y = new Float32Array(T * w.rows);
        const ms = time(() => native.matmul(y, x, T, w), shape === 'lmHead' || T === 512 ? Math.max(3, repeats >> 2) : repeats);
        const gflop = (2 * T * w.rows * w.cols) / 1e9;
        report(`batch  ${name.padEnd(5)} ${shape.padEnd(8)} T=${String(T).padEnd(3)} threads=${threads}: ${ms.toFixed(3).padStart(8)} ms  ${(gflop / (ms / 1e3)).toFixed(1).padStart(6)} GFLOP/s`);
      }
    }
  }
}

if (only.has('attention')) {
  const nHeads = 16;
  const nKv = 2;
  const hd = 128;
  const blockSize = 64;
  const kvWidth = nKv * hd;
  for (const threads of threadCounts) {
    setThreads(threads);
    for (const dtype of ['f32', 'f16'] as const) {
      for (const [name, seqs, ctx, T] of [
        ['decode', 8, 1024, 8],
        ['decode', 8, 4096, 8],
        ['prefill', 1, 512, 512],
      ] as const) {
        const blocksPerSeq = Math.ceil(ctx / blockSize);
        const numBlocks = seqs * blocksPerSeq;
        const size = numBlocks * blockSize * kvWidth;
        const init = rnd(size);
        const kc: KvCacheArray = dtype === 'f16' ? Uint16Array.from(init, (v) => (v * 100) & 0x3bff) : init;
        const vc: KvCacheArray = dtype === 'f16' ? Uint16Array.from(init, (v) => (v * 77) & 0x3bff) : init.slice();
        const blockTables = Int32Array.from({ length: numBlocks }, (_, i) => i);
        const batch: AttentionBatch =
          name === 'decode'
            ? {
                tokenSeq: Int32Array.from({ length: T }, (_, t) => t),
                tokenPos: new Int32Array(T).fill(ctx - 1),
                blockTables,
                maxBlocksPerSeq: blocksPerSeq,
                blockSize,
              }
            : {
                tokenSeq: new Int32Array(T),
                tokenPos: Int32Array.from({ length: T }, (_, t) => ctx - T + t),
                blockTables,
                maxBlocksPerSeq: blocksPerSeq,
                blockSize,
              };
        const q = rnd(T * nHeads * hd);
        const out = new Float32Array(T * nHeads * hd);
        const ms = time(() => native.attention(out, q, kc, vc, T, nHeads, nKv, hd, 1 / Math.sqrt(hd), batch));
        const bytes = name === 'decode' ? seqs * ctx * kvWidth * 2 * (dtype === 'f16' ? 2 : 4) : 0;
        const rate = name === 'decode' ? `${(bytes / 1e9 / (ms / 1e3)).toFixed(1).padStart(6)} GB/s of KV` : '';
        report(`attn   ${dtype.padEnd(5)} ${name.padEnd(8)} ctx=${String(ctx).padEnd(5)} T=${String(T).padEnd(3)} threads=${threads}: ${ms.toFixed(3).padStart(8)} ms  ${rate}`);
      }
    }
  }
}
