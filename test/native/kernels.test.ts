/**
 * The addon's kernels against the TypeScript reference, on random inputs with awkward sizes, for
 * every weight type and every ISA path this CPU supports (switched at runtime with setIsa).
 */
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { amxEnabled, amxSupported, defaultThreads, native, setAmx, setIsa, supportedIsas } from '../../src/native/index.ts';
import * as ref from '../../src/native/reference.ts';
import { type AttentionBatch, GgmlType, RopePairing, type WeightMatrix } from '../../src/native/types.ts';
import { assertBitEqual, assertClose, Rng, randomWeight, unaligned } from './helpers.ts';

const ALL_TYPES = [
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.BF16,
  GgmlType.Q8_0,
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
];

/** Column counts per type: not multiples of the SIMD width, resp. of 64 / 512 for block formats. */
function colsFor(type: GgmlType): number[] {
  const block = ref.ggmlBlock(type).elems;
  if (block === 1) return [1, 7, 37, 100, 259];
  if (block === 32) return [32, 96, 160];
  return [256, 768];
}

/** Σ|x|·|w| per output: the natural scale of a dot product's rounding error. */
function absMatmul(x: Float32Array, T: number, w: WeightMatrix): Float64Array {
  const out = new Float64Array(T * w.rows);
  for (let r = 0; r < w.rows; r++) {
    const row = ref.dequantizeRow(w, r);
    for (let t = 0; t < T; t++) {
      let s = 0;
      for (let i = 0; i < w.cols; i++) s += Math.abs(x[t * w.cols + i] * row[i]);
      out[t * w.rows + r] = s;
    }
  }
  return out;
}

const isas = supportedIsas();
const initialIsa = native.isa;
after(() => setIsa(initialIsa as 'scalar'));

it('reports an ISA it supports', () => {
  assert.ok(isas.includes('scalar'));
  assert.ok(isas.includes(native.isa as 'scalar'), `isa ${native.isa} not in ${isas.join(',')}`);
});

for (const isa of isas) {
  describe(`native kernels [${isa}]`, () => {
    beforeEach(() => {
      setIsa(isa);
      assert.equal(native.isa, isa);
    });

    it('getRows dequantises every type bit-exactly like the reference', () => {
      const rng = new Rng(1);
      for (const type of ALL_TYPES) {
        for (const cols of colsFor(type)) {
          const w = randomWeight(rng, type, 5, cols);
          const ids = Int32Array.from([4, 0, 2, 2, 1, 3]);
          const out = new Float32Array(ids.length * cols);
          native.getRows(out, w, ids);
          const expected = new Float32Array(ids.length * cols);
          ids.forEach((id, i) => {
            expected.set(ref.dequantizeRow(w, id), i * cols);
          });
          assertBitEqual(out, expected, `${GgmlType[type]} cols=${cols}`);
        }
      }
    });

    it('getRows converts every f16 and bf16 bit pattern exactly', () => {
      const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
      const data = new Uint8Array(bits.buffer);
      for (const [type, decode] of [
        [GgmlType.F16, ref.f16BitsToF32],
        [GgmlType.BF16, ref.bf16BitsToF32],
      ] as const) {
        const out = new Float32Array(65536);
        native.getRows(out, { type, rows: 1, cols: 65536, data }, Int32Array.of(0));
        const expected = Float32Array.from(bits, (h) => decode(h));
        for (let h = 0; h < 65536; h++) {
          if (Number.isNaN(expected[h])) assert.ok(Number.isNaN(out[h]), `${GgmlType[type]} 0x${h.toString(16)}`);
          else assert.ok(Object.is(out[h], expected[h]), `${GgmlType[type]} 0x${h.toString(16)}: ${out[h]}`);
        }
      }
    });

    it('matmul matches the reference for every type and T = 1, 3, 17, 64', () => {
      const rng = new Rng(2);
      for (const type of ALL_TYPES) {
        for (const cols of colsFor(type)) {
          const w = randomWeight(rng, type, 11, cols);
          for (const T of [1, 3, 17, 64]) {
            const x = rng.f32(T * cols);
            const y = new Float32Array(T * w.rows).fill(Number.NaN);
            native.matmul(y, x, T, w);
            const expected = new Float32Array(T * w.rows);
            ref.matmul(expected, x, T, w);
            const scale = absMatmul(x, T, w);
            assertClose(y, expected, { rtol: 1e-5, atol: 1e-30, scale, what: `${GgmlType[type]} cols=${cols} T=${T}` });
          }
        }
      }
    });

    it('matmul of Q8_0 / Q4_0 weights is bit-exact with the reference integer path', () => {
      const rng = new Rng(20);
      for (const type of [GgmlType.Q8_0, GgmlType.Q4_0]) {
        for (const cols of [32, 96, 160, 1024]) {
          for (const rows of [1, 11, 37]) {
            const w = randomWeight(rng, type, rows, cols);
            for (const T of [1, 2, 3, 5, 17]) {
              const x = rng.f32(T * cols, -3, 3);
              // awkward blocks: all zero, one value, exact rounding ties (amax 127 → d = 1), huge values
              if (T > 1) {
                x.fill(0, 0, 32);
                x.fill(0, cols, cols + 32);
                x[cols + 5] = -2;
                for (let i = 0; i < 32; i++) x[cols + 32 * ((cols / 32) >> 1) + i] = i === 0 ? 127 : -63.5 + i;
                if (cols >= 96) for (let i = 64; i < 96; i++) x[i] *= 1e30;
              }
              const y = new Float32Array(T * rows).fill(Number.NaN);
              native.matmul(y, x, T, w);
              const expected = new Float32Array(T * rows);
              ref.matmul(expected, x, T, w);
              assertBitEqual(y, expected, `${GgmlType[type]} rows=${rows} cols=${cols} T=${T}`);
            }
          }
        }
      }
    });

    it('matmul of block-format weights stays close to f32 activations (quantisation error)', () => {
      const rng = new Rng(21);
      for (const type of [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K]) {
        const cols = 1024;
        const w = randomWeight(rng, type, 16, cols);
        const T = 4;
        const x = rng.f32(T * cols);
        const y = new Float32Array(T * w.rows);
        native.matmul(y, x, T, w);
        const exact = new Float32Array(T * w.rows);
        ref.matmulF32(exact, x, T, w);
        // int8 activations: relative error ≈ 2^-8 per element, averaging out over a row
        assertClose(y, exact, { rtol: 2e-3, scale: absMatmul(x, T, w), what: GgmlType[type] });
      }
    });

    it('matmul reads F32/F16 weights at any alignment', () => {
      const rng = new Rng(3);
      for (const type of [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0]) {
        const cols = type === GgmlType.Q8_0 ? 64 : 45;
        const aligned = randomWeight(rng, type, 9, cols, true);
        const x = rng.f32(2 * cols);
        const y0 = new Float32Array(2 * 9);
        native.matmul(y0, x, 2, aligned);
        for (const offset of [1, 2, 3]) {
          const y = new Float32Array(2 * 9);
          native.matmul(y, x, 2, { ...aligned, data: unaligned(aligned.data, offset) });
          assertBitEqual(y, y0, `${GgmlType[type]} offset ${offset}`);
        }
      }
    });

    it('matmul: a token row is bit-identical alone and inside any batch (determinism)', () => {
      const rng = new Rng(4);
      for (const type of ALL_TYPES) {
        const cols = colsFor(type).at(-1)!;
        const w = randomWeight(rng, type, 13, cols);
        const T = 17;
        const x = rng.f32(T * cols);
        const yAll = new Float32Array(T * w.rows);
        native.matmul(yAll, x, T, w);
        for (let t = 0; t < T; t++) {
          const y1 = new Float32Array(w.rows);
          native.matmul(y1, x.subarray(t * cols, (t + 1) * cols), 1, w);
          assertBitEqual(y1, yAll.subarray(t * w.rows, (t + 1) * w.rows), `${GgmlType[type]} token ${t} alone`);
        }
        // the same rows in a different batch composition (3 tokens starting at an odd index)
        const y3 = new Float32Array(3 * w.rows);
        native.matmul(y3, x.subarray(5 * cols, 8 * cols), 3, w);
        assertBitEqual(y3, yAll.subarray(5 * w.rows, 8 * w.rows), `${GgmlType[type]} tokens 5..7`);
      }
    });

    it('matmul: large batches (several token blocks, column blocks and row groups) equal single tokens', () => {
      const rng = new Rng(22);
      for (const type of ALL_TYPES) {
        const block = ref.ggmlBlock(type).elems;
        const cols = block === 1 ? 530 : block === 32 ? 544 : 768;
        const w = randomWeight(rng, type, 37, cols);
        const T = 300;
        const x = rng.f32(T * cols);
        const y = new Float32Array(T * w.rows);
        native.matmul(y, x, T, w);
        for (const t of [0, 1, 5, 6, 7, 255, 256, 299]) {
          const y1 = new Float32Array(w.rows);
          native.matmul(y1, x.subarray(t * cols, (t + 1) * cols), 1, w);
          assertBitEqual(y1, y.subarray(t * w.rows, (t + 1) * w.rows), `${GgmlType[type]} token ${t} alone`);
        }
        const y5 = new Float32Array(5 * w.rows);
        native.matmul(y5, x.subarray(250 * cols, 255 * cols), 5, w);
        assertBitEqual(y5, y.subarray(250 * w.rows, 255 * w.rows), `${GgmlType[type]} tokens 250..254`);
        if (type === GgmlType.Q8_0 || type === GgmlType.Q4_0) {
          const expected = new Float32Array(T * w.rows);
          ref.matmul(expected, x, T, w);
          assertBitEqual(y, expected, `${GgmlType[type]} vs reference`);
        }
      }
    });

    it('matmul leaves y beyond T × rows untouched and handles T = 0', () => {
      const rng = new Rng(5);
      const w = randomWeight(rng, GgmlType.F32, 3, 8);
      const y = new Float32Array(10).fill(7);
      native.matmul(y, rng.f32(16), 2, w);
      assert.deepEqual(Array.from(y.subarray(6)), [7, 7, 7, 7]);
      native.matmul(new Float32Array(0), new Float32Array(0), 0, w);
    });

    it('rmsNorm matches the reference (also in place)', () => {
      const rng = new Rng(6);
      for (const [T, n] of [
        [1, 1],
        [3, 37],
        [17, 128],
      ]) {
        const x = rng.f32(T * n, -3, 3);
        const weight = rng.f32(n, 0.5, 1.5);
        const out = new Float32Array(T * n);
        native.rmsNorm(out, x, weight, T, n, 1e-6);
        const expected = new Float32Array(T * n);
        ref.rmsNorm(expected, x, weight, T, n, 1e-6);
        assertClose(out, expected, { rtol: 1e-6, what: `T=${T} n=${n}` });
        native.rmsNorm(x, x, weight, T, n, 1e-6);
        assertBitEqual(x, out, 'in place');
      }
    });

    it('rope matches the reference for both pairings', () => {
      const rng = new Rng(7);
      for (const pairing of [RopePairing.HalfSplit, RopePairing.Interleaved]) {
        for (const [T, nHeads, hd, theta] of [
          [1, 1, 2, 10000],
          [3, 2, 64, 10000],
          [17, 3, 128, 500000],
        ]) {
          const invFreq = new Float32Array(hd / 2);
          for (let i = 0; i < hd / 2; i++) invFreq[i] = theta ** ((-2 * i) / hd);
          const pos = Int32Array.from({ length: T }, () => rng.int(5000));
          const x = rng.f32(T * nHeads * hd);
          const expected = x.slice();
          native.rope(x, T, nHeads, hd, pos, invFreq, pairing);
          ref.rope(expected, T, nHeads, hd, pos, invFreq, pairing);
          assertClose(x, expected, { rtol: 1e-6, atol: 1e-7, what: `pairing ${pairing} hd=${hd}` });
        }
      }
    });

    it('rope gives the same bits whatever it computed before (its cos/sin table follows invFreq)', () => {
      const rng = new Rng(9);
      const hd = 8;
      const a = Float32Array.from({ length: hd / 2 }, (_, i) => 10000 ** ((-2 * i) / hd));
      const b = Float32Array.from({ length: hd / 2 }, (_, i) => 500000 ** ((-2 * i) / hd));
      const x = rng.f32(3 * hd);
      const rotate = (invFreq: Float32Array, pos: number[]): Float32Array => {
        const y = x.slice();
        native.rope(y, 3, 1, hd, Int32Array.from(pos), invFreq, RopePairing.Interleaved);
        return y;
      };
      const first = rotate(a, [7, 9000, 3]);
      rotate(b, [7, 9000, 3]); // same length, other frequencies
      rotate(a, [20000, 1, 2]); // grows the table
      assertBitEqual(rotate(a, [7, 9000, 3]), first, 'after other calls');
      const viaB = rotate(b, [7, 9000, 3]);
      const expected = x.slice();
      ref.rope(expected, 3, 1, hd, Int32Array.from([7, 9000, 3]), b, RopePairing.Interleaved);
      assertClose(viaB, expected, { rtol: 1e-6, atol: 1e-7, what: 'invFreq b' });
    });

    it('rope pairings differ by the §1.8 permutation and leave position 0 unchanged', () => {
      const rng = new Rng(8);
      const hd = 16;
      const invFreq = Float32Array.from({ length: hd / 2 }, (_, i) => 10000 ** ((-2 * i) / hd));
      const half = rng.f32(hd);
      // interleaved row 2i + s ↔ half-split row s·hd/2 + i
      const inter = new Float32Array(hd);
      for (let i = 0; i < hd / 2; i++) {
        inter[2 * i] = half[i];
        inter[2 * i + 1] = half[hd / 2 + i];
      }
      const pos = Int32Array.of(123);
      native.rope(half, 1, 1, hd, pos, invFreq, RopePairing.HalfSplit);
      native.rope(inter, 1, 1, hd, pos, invFreq, RopePairing.Interleaved);
      for (let i = 0; i < hd / 2; i++) {
        assert.equal(inter[2 * i], half[i]);
        assert.equal(inter[2 * i + 1], half[hd / 2 + i]);
      }
      const x = rng.f32(hd);
      const y = x.slice();
      native.rope(y, 1, 1, hd, Int32Array.of(0), invFreq, RopePairing.Interleaved);
      assertBitEqual(y, x, 'position 0');
    });

    it('swiglu matches the reference (also in place, extreme inputs)', () => {
      const rng = new Rng(9);
      const n = 1001;
      const gate = rng.f32(n, -10, 10);
      gate[0] = -200;
      gate[1] = 200;
      gate[2] = 0;
      const up = rng.f32(n, -2, 2);
      const out = new Float32Array(n);
      native.swiglu(out, gate, up, n);
      const expected = new Float32Array(n);
      ref.swiglu(expected, gate, up, n);
      assertClose(out, expected, { rtol: 1e-6, atol: 1e-30 });
      assert.ok(Object.is(Math.abs(out[0]), 0) && out[1] === 200 * up[1]);
      native.swiglu(gate, gate, up, n);
      assertBitEqual(gate, out, 'in place');
    });

    it('add (the residual) equals the reference bit for bit, tails included', () => {
      const rng = new Rng(12);
      for (const n of [0, 1, 15, 16, 17, 1000, 1027]) {
        const x = rng.f32(n + 3, -1e3, 1e3);
        const y = rng.f32(n + 3, -1e-3, 1e3);
        const expected = x.slice();
        native.add(x, y, n);
        ref.add(expected, y, n);
        assertBitEqual(x, expected, `n=${n}`);
      }
    });

    it('kvStore writes slots exactly and skips negative slots', () => {
      const rng = new Rng(10);
      const kvWidth = 12;
      const numSlots = 20;
      const T = 5;
      const k = rng.f32(T * kvWidth);
      const v = rng.f32(T * kvWidth);
      const slots = Int32Array.of(19, 0, -1, 7, 8);
      const kc = new Float32Array(numSlots * kvWidth).fill(-5);
      const vc = new Float32Array(numSlots * kvWidth).fill(-5);
      const kcRef = kc.slice();
      const vcRef = vc.slice();
      native.kvStore(kc, vc, k, v, T, kvWidth, slots);
      ref.kvStore(kcRef, vcRef, k, v, T, kvWidth, slots);
      assertBitEqual(kc, kcRef, 'k cache');
      assertBitEqual(vc, vcRef, 'v cache');
      assert.equal(kc[19 * kvWidth], k[0]);
    });

    it('kvStore rounds into f16 caches to nearest even (every kind of value)', () => {
      const rng = new Rng(14);
      const kvWidth = 37;
      const T = 64;
      const special = [0, -0, 1, -1, 65504, 65519.99, 65520, 1e6, -1e9, Infinity, -Infinity, Number.NaN, 2 ** -14,
        2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 3 * 2 ** -25, 2 ** -26, 1e-30, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 6.1e-5];
      const k = rng.f32(T * kvWidth, -70000, 70000);
      const v = rng.f32(T * kvWidth, -1e-4, 1e-4);
      k.set(special);
      v.set(special.map((x) => -x), kvWidth);
      const slots = Int32Array.from({ length: T }, (_, t) => (t * 7) % 70);
      slots[3] = -1;
      const kc = new Uint16Array(70 * kvWidth).fill(0x1234);
      const vc = new Uint16Array(70 * kvWidth).fill(0x1234);
      const kcRef = kc.slice();
      const vcRef = vc.slice();
      native.kvStore(kc, vc, k, v, T, kvWidth, slots);
      ref.kvStore(kcRef, vcRef, k, v, T, kvWidth, slots);
      assert.deepEqual(Array.from(kc), Array.from(kcRef));
      assert.deepEqual(Array.from(vc), Array.from(vcRef));
      assert.throws(() => native.kvStore(kc, new Float32Array(vc.length), k, v, T, kvWidth, slots), /same element type/);
    });

    const attentionCases: {
      nHeads: number;
      nKv: number;
      hd: number;
      blockSize: number;
      seqLens: number[];
      /** [sequence, position] per token of the batch */
      tokens: [number, number][];
    }[] = [
      // a prefill chunk of sequence 1, decode tokens of 0 and 2, and a middle token of 2
      ...[
        [6, 2, 40, 4],
        [4, 4, 64, 16],
        [8, 1, 16, 3],
        [12, 1, 48, 5], // a group larger than the AVX-512 tile's 8 heads
      ].map(([nHeads, nKv, hd, blockSize]) => ({
        nHeads,
        nKv,
        hd,
        blockSize,
        seqLens: [1, 9, 14],
        tokens: [
          [1, 5],
          [1, 6],
          [1, 7],
          [1, 8],
          [0, 0],
          [2, 13],
          [2, 4],
        ] as [number, number][],
      })),
      // blocks larger than the kernels' tiles, contexts spanning several tiles and blocks
      {
        nHeads: 4,
        nKv: 2,
        hd: 128,
        blockSize: 64,
        seqLens: [150, 70],
        tokens: [
          [0, 149],
          [1, 69],
          [0, 63],
          [0, 64],
          [1, 15],
          [1, 16],
          [0, 100],
        ],
      },
    ];
    for (const { nHeads, nKv, hd, blockSize, seqLens, tokens } of attentionCases) {
      it(`paged attention matches the reference (nHeads=${nHeads} nKv=${nKv} hd=${hd} blockSize=${blockSize})`, () => {
        const rng = new Rng(11 + hd);
        const kvWidth = nKv * hd;
        const maxBlocksPerSeq = Math.max(...seqLens.map((len) => Math.ceil(len / blockSize))) + 1;
        const numBlocks = seqLens.reduce((a, len) => a + Math.ceil(len / blockSize), 0) + 3;
        // scattered, non-contiguous block ids per sequence
        const ids = rng.shuffle(Array.from({ length: numBlocks }, (_, i) => i));
        const blockTables = new Int32Array(seqLens.length * maxBlocksPerSeq).fill(-1);
        let next = 0;
        seqLens.forEach((len, s) => {
          for (let b = 0; b < Math.ceil(len / blockSize); b++) blockTables[s * maxBlocksPerSeq + b] = ids[next++];
        });
        // unused cache slots hold NaN: reading past a token's position would poison the output
        const kc = new Float32Array(numBlocks * blockSize * kvWidth).fill(Number.NaN);
        const vc = new Float32Array(numBlocks * blockSize * kvWidth).fill(Number.NaN);
        seqLens.forEach((len, s) => {
          const slots = Int32Array.from({ length: len }, (_, p) => {
            return blockTables[s * maxBlocksPerSeq + Math.floor(p / blockSize)] * blockSize + (p % blockSize);
          });
          native.kvStore(kc, vc, rng.f32(len * kvWidth, -2, 2), rng.f32(len * kvWidth), len, kvWidth, slots);
        });
        const tokenSeq = Int32Array.from(tokens, ([s]) => s);
        const tokenPos = Int32Array.from(tokens, ([, p]) => p);
        const batch: AttentionBatch = { tokenSeq, tokenPos, blockTables, maxBlocksPerSeq, blockSize };
        const T = tokenSeq.length;
        const q = rng.f32(T * nHeads * hd, -2, 2);
        const scale = 1 / Math.sqrt(hd);
        const out = new Float32Array(T * nHeads * hd);
        native.attention(out, q, kc, vc, T, nHeads, nKv, hd, scale, batch);
        const expected = new Float32Array(T * nHeads * hd);
        ref.attention(expected, q, kc, vc, T, nHeads, nKv, hd, scale, batch);
        assertClose(out, expected, { rtol: 1e-5, atol: 1e-5 });

        // f16 caches: attention equals attention over f32 caches holding the f16-rounded values
        const kc16 = Uint16Array.from(kc, (x) => ref.f32ToF16Bits(x));
        const vc16 = Uint16Array.from(vc, (x) => ref.f32ToF16Bits(x));
        const out16 = new Float32Array(T * nHeads * hd);
        native.attention(out16, q, kc16, vc16, T, nHeads, nKv, hd, scale, batch);
        const out32 = new Float32Array(T * nHeads * hd);
        const widen = (c: Uint16Array) => Float32Array.from(c, (h) => ref.f16BitsToF32(h));
        native.attention(out32, q, widen(kc16), widen(vc16), T, nHeads, nKv, hd, scale, batch);
        assertBitEqual(out16, out32, 'f16 cache');
        const expected16 = new Float32Array(T * nHeads * hd);
        ref.attention(expected16, q, kc16, vc16, T, nHeads, nKv, hd, scale, batch);
        assertClose(out16, expected16, { rtol: 1e-5, atol: 1e-5 });

        // determinism: each token alone gives bit-identical output
        for (let t = 0; t < T; t++) {
          const o1 = new Float32Array(nHeads * hd);
          const one: AttentionBatch = {
            ...batch,
            tokenSeq: tokenSeq.subarray(t, t + 1),
            tokenPos: tokenPos.subarray(t, t + 1),
          };
          native.attention(
            o1,
            q.subarray(t * nHeads * hd, (t + 1) * nHeads * hd),
            kc,
            vc,
            1,
            nHeads,
            nKv,
            hd,
            scale,
            one,
          );
          assertBitEqual(o1, out.subarray(t * nHeads * hd, (t + 1) * nHeads * hd), `token ${t} alone`);
        }
      });
    }

    it('topK: best first, lower id first on ties, NaN last, any k', () => {
      const rng = new Rng(15);
      for (const n of [1, 7, 100, 5000]) {
        const x = Float32Array.from({ length: n }, () => Math.round(rng.uniform(-20, 20))); // many ties
        if (n > 10) {
          x[3] = Number.NaN;
          x[5] = Number.NEGATIVE_INFINITY;
          x[8] = Number.POSITIVE_INFINITY;
        }
        for (const k of [0, 1, 2, 5, Math.floor(n / 3), n - 1, n, n + 3]) {
          if (k < 0) continue;
          assert.deepEqual(Array.from(native.topK(x, k)), Array.from(ref.topK(x, k)), `n=${n} k=${k}`);
        }
        assert.deepEqual(Array.from(native.topK(x, 3, Math.ceil(n / 2))), Array.from(ref.topK(x, 3, Math.ceil(n / 2))));
      }
    });

    it('logSumExp matches the double-precision reference', () => {
      const rng = new Rng(16);
      for (const n of [1, 17, 103424]) {
        const x = rng.f32(n, -30, 30);
        if (n > 1) x[n - 1] = Number.NEGATIVE_INFINITY;
        for (const scale of [0.5, 1, 1 / 0.7]) {
          const got = native.logSumExp(x, scale);
          const want = ref.logSumExp(x, scale);
          assert.ok(Math.abs(got - want) <= 1e-6 * Math.max(1, Math.abs(want)), `n=${n} scale=${scale}: ${got} vs ${want}`);
        }
      }
      assert.equal(native.logSumExp(Float32Array.of(Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY)), Number.NEGATIVE_INFINITY);
    });

    it('sampleCategorical follows the cumulative weights and never picks −∞ entries', () => {
      // weights 1, 2, 4, 8 (+ banned entries): the cumulative boundaries are at 1/15, 3/15, 7/15
      const x = Float32Array.from([0, Number.NEGATIVE_INFINITY, Math.log(2), Math.log(4), Number.NEGATIVE_INFINITY, Math.log(8)]);
      const cases: [number, number][] = [
        [0, 0],
        [0.5 / 15, 0],
        [1.5 / 15, 2],
        [2.9 / 15, 2],
        [3.1 / 15, 3],
        [6.9 / 15, 3],
        [7.1 / 15, 5],
        [1 - 1e-12, 5],
      ];
      for (const [u, id] of cases) {
        assert.equal(native.sampleCategorical(x, 1, u), id, `u=${u}`);
        assert.equal(ref.sampleCategorical(x, 1, u), id, `reference u=${u}`);
      }
      // temperature: scale 2 squares the weights (1, 4, 16, 64)
      assert.equal(native.sampleCategorical(x, 2, 5.5 / 85), 3);
      const rng = new Rng(17);
      const big = rng.f32(50000, -5, 5);
      for (let i = 0; i < 20; i++) {
        const u = rng.next();
        const got = native.sampleCategorical(big, 1.3, u);
        const want = ref.sampleCategorical(big, 1.3, u);
        assert.ok(Math.abs(got - want) <= 1, `u=${u}: ${got} vs ${want}`); // f32 exponentials may move a boundary
      }
    });

    it('attention with one position returns v exactly', () => {
      const rng = new Rng(12);
      const hd = 20;
      const kc = rng.f32(4 * hd);
      const vc = rng.f32(4 * hd);
      const out = new Float32Array(2 * hd);
      const batch: AttentionBatch = {
        tokenSeq: Int32Array.of(0),
        tokenPos: Int32Array.of(0),
        blockTables: Int32Array.of(3),
        maxBlocksPerSeq: 1,
        blockSize: 1,
      };
      native.attention(out, rng.f32(2 * hd), kc, vc, 1, 2, 1, hd, 0.3, batch);
      assertBitEqual(out.subarray(0, hd), vc.subarray(3 * hd), 'head 0');
      assertBitEqual(out.subarray(hd), vc.subarray(3 * hd), 'head 1');
    });
  });
}

describe('integer matmul (every block format): packed weights, every path', () => {
  // Every ISA, and on AVX-512 with AMX tiles both on and off: the same bits as the reference for
  // packed and unpacked weights, rows not filling a 16-row panel, odd block counts and token counts
  // around the 16-token tile (the AMX path starts at 12 tokens).
  const initialAmx = amxEnabled();
  after(() => {
    setIsa(initialIsa as 'scalar');
    if (amxSupported()) setAmx(initialAmx);
  });
  const paths = isas.flatMap((isa) =>
    isa === 'avx512' && amxSupported() ? [{ isa, amx: true }, { isa, amx: false }] : [{ isa, amx: false }],
  );
  for (const { isa, amx } of paths) {
    it(`bit-exact with the reference [${isa}${amx ? '+amx' : ''}]`, () => {
      setIsa(isa);
      if (amxSupported()) setAmx(amx);
      const rng = new Rng(30);
      const shapes: Record<number, [number, number][]> = {
        [GgmlType.Q8_0]: [
          [1, 32],
          [11, 96],
          [20, 64], // a pair of panels, the second partial
          [37, 160],
          [48, 1024],
        ],
        [GgmlType.Q4_K]: [
          [11, 256],
          [20, 512],
          [37, 768],
        ],
      };
      shapes[GgmlType.Q5_K] = shapes[GgmlType.Q4_K];
      shapes[GgmlType.Q6_K] = shapes[GgmlType.Q4_K];
      for (const t of [GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1]) shapes[t] = shapes[GgmlType.Q8_0];
      for (const type of [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K]) {
        for (const [rows, cols] of shapes[type]) {
          const w = randomWeight(rng, type, rows, cols);
          const packed = native.packWeights(w);
          assert.ok(packed.packed instanceof Uint8Array);
          for (const T of [1, 3, 11, 12, 16, 17, 33, 64]) {
            const x = rng.f32(T * cols, -3, 3);
            const expected = new Float32Array(T * rows);
            ref.matmul(expected, x, T, w);
            for (const weights of [w, packed]) {
              const y = new Float32Array(T * rows).fill(Number.NaN);
              native.matmul(y, x, T, weights);
              assertBitEqual(y, expected, `${GgmlType[type]} rows=${rows} cols=${cols} T=${T} packed=${weights === packed}`);
            }
          }
        }
      }
    });
  }

  it('packWeights leaves other types alone; matmul rejects a packed buffer of the wrong size', () => {
    const rng = new Rng(31);
    const f32 = randomWeight(rng, GgmlType.F32, 3, 8);
    assert.equal(native.packWeights(f32), f32);
    const w = native.packWeights(randomWeight(rng, GgmlType.Q8_0, 20, 64));
    const other = native.packWeights(randomWeight(rng, GgmlType.Q8_0, 40, 64));
    assert.throws(() => native.matmul(new Float32Array(20), new Float32Array(64), 1, { ...w, packed: other.packed }), /w.packed/);
  });
});

describe('weight quantisation (--quantization)', () => {
  it('Q8_0 / Q4_0 blocks are byte-identical to the reference quantisers (ties, zeros, signs)', () => {
    const rng = new Rng(40);
    for (const n of [32, 96, 32 * 5000]) {
      const x = rng.f32(n, -2, 2);
      x.fill(0, 0, 32); // an all-zero block: d = 0
      if (n > 64) {
        // a block whose scaled values hit .5 exactly: amax 127 → d = 1, id = 1
        for (let i = 0; i < 32; i++) x[32 + i] = i === 0 ? 127 : -63.5 + i;
      }
      for (const type of [GgmlType.Q8_0, GgmlType.Q4_0] as const) {
        const got = native.quantize(type, x);
        const expected = type === GgmlType.Q8_0 ? ref.quantizeQ8_0(x) : ref.quantizeQ4_0(x);
        assert.deepEqual(Buffer.from(got), Buffer.from(expected), `${GgmlType[type]} n=${n}`);
      }
    }
    assert.throws(() => native.quantize(GgmlType.Q8_0, new Float32Array(33)), /multiple of 32/);
  });
});

describe('thread pool', () => {
  const initialThreads = native.threads;
  after(() => native.setThreads(initialThreads));

  it('defaults to the cores of the machine and can be resized', () => {
    assert.equal(initialThreads, defaultThreads());
    assert.ok(initialThreads >= 1);
    native.setThreads(3);
    assert.equal(native.threads, 3);
    assert.throws(() => native.setThreads(0), /setThreads/);
    assert.throws(() => native.setThreads(1.5), /setThreads/);
  });

  it('several JS threads may call the kernels at once (the pool serves one, the others run alone)', async () => {
    native.setThreads(2);
    const rng = new Rng(31);
    const w = randomWeight(rng, GgmlType.Q8_0, 512, 1024);
    const T = 3;
    const x = rng.f32(T * w.cols);
    const expected = new Float32Array(T * w.rows);
    native.matmul(expected, x, T, w);
    const fixture = new URL('./fixtures/matmul-worker.mjs', import.meta.url);
    const workers = [0, 1].map(
      () =>
        new Promise<Float32Array[]>((resolve, reject) => {
          const worker = new Worker(fixture, { workerData: { w, x, T, iterations: 200 } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    );
    for (let i = 0; i < 100; i++) {
      const y = new Float32Array(T * w.rows);
      native.matmul(y, x, T, w);
      assertBitEqual(y, expected, `main thread, iteration ${i}`);
      await new Promise((r) => setImmediate(r));
    }
    for (const results of await Promise.all(workers)) {
      assert.equal(results.length, 1, 'one distinct result per worker');
      assertBitEqual(results[0], expected, 'worker thread');
    }
  });

  for (const isa of isas) {
    it(`results are bit-identical with 1, 2 and 3 threads [${isa}]`, () => {
      setIsa(isa);
      const rng = new Rng(30);
      for (const type of ALL_TYPES) {
        const cols = ref.ggmlBlock(type).elems === 256 ? 512 : 384;
        const w = randomWeight(rng, type, 203, cols);
        for (const T of [1, 7, 40]) {
          const x = rng.f32(T * cols);
          const runs = [1, 2, 3].map((n) => {
            native.setThreads(n);
            const y = new Float32Array(T * w.rows);
            native.matmul(y, x, T, w);
            return y;
          });
          assertBitEqual(runs[1], runs[0], `${GgmlType[type]} T=${T} 2 threads`);
          assertBitEqual(runs[2], runs[0], `${GgmlType[type]} T=${T} 3 threads`);
        }
      }
      // getRows and attention
      const emb = randomWeight(rng, GgmlType.Q8_0, 50, 4096);
      const ids = Int32Array.from({ length: 40 }, () => rng.int(50));
      const nHeads = 8;
      const nKv = 2;
      const hd = 64;
      const blockSize = 16;
      const len = 300;
      const kc = rng.f32(Math.ceil(len / blockSize) * blockSize * nKv * hd);
      const vc = rng.f32(kc.length);
      const T = 24;
      const q = rng.f32(T * nHeads * hd);
      const batch: AttentionBatch = {
        tokenSeq: new Int32Array(T),
        tokenPos: Int32Array.from({ length: T }, (_, t) => len - T + t),
        blockTables: Int32Array.from({ length: Math.ceil(len / blockSize) }, (_, i) => i),
        maxBlocksPerSeq: Math.ceil(len / blockSize),
        blockSize,
      };
      const outs = [1, 2, 3].map((n) => {
        native.setThreads(n);
        const rows = new Float32Array(ids.length * emb.cols);
        native.getRows(rows, emb, ids);
        const att = new Float32Array(T * nHeads * hd);
        native.attention(att, q, kc, vc, T, nHeads, nKv, hd, 0.125, batch);
        return [rows, att];
      });
      for (const n of [1, 2]) {
        assertBitEqual(outs[n][0], outs[0][0], `getRows ${n + 1} threads`);
        assertBitEqual(outs[n][1], outs[0][1], `attention ${n + 1} threads`);
      }
      setIsa(initialIsa as 'scalar');
    });
  }
});

describe('argument validation', () => {
  const rng = new Rng(13);
  const w = randomWeight(rng, GgmlType.Q8_0, 4, 64);

  it('matmul rejects short buffers, bad shapes and unsupported types', () => {
    assert.throws(() => native.matmul(new Float32Array(7), new Float32Array(128), 2, w), /matmul: y has 7/);
    assert.throws(() => native.matmul(new Float32Array(8), new Float32Array(127), 2, w), /matmul: x has 127/);
    assert.throws(() => native.matmul(new Float32Array(8), new Float32Array(128), 2, { ...w, rows: 5 }), /w\.data/);
    assert.throws(() => native.matmul(new Float32Array(8), new Float32Array(128), 2, { ...w, cols: 48 }), /multiple/);
    assert.throws(
      () => native.matmul(new Float32Array(8), new Float32Array(128), 2, { ...w, type: 10 as GgmlType }),
      /unsupported ggml type 10/,
    );
    assert.throws(() => native.matmul(new Float32Array(8), new Float32Array(128), 1.5, w), /T must be an integer/);
  });

  it('getRows rejects ids outside the matrix', () => {
    assert.throws(() => native.getRows(new Float32Array(64), w, Int32Array.of(4)), /ids\[0\] = 4/);
    assert.throws(() => native.getRows(new Float32Array(64), w, Int32Array.of(-1)), /ids\[0\] = -1/);
    assert.throws(() => native.getRows(new Float32Array(63), w, Int32Array.of(0)), /out has 63/);
  });

  it('kvStore and attention reject out-of-range slots, sequences, positions and block ids', () => {
    const kc = new Float32Array(4 * 2 * 8);
    const vc = new Float32Array(4 * 2 * 8);
    const k = new Float32Array(8);
    assert.throws(() => native.kvStore(kc, vc, k, k, 1, 8, Int32Array.of(8)), /slots\[0\] = 8/);
    const batch = (seq: number, pos: number, table: number[]): AttentionBatch => ({
      tokenSeq: Int32Array.of(seq),
      tokenPos: Int32Array.of(pos),
      blockTables: Int32Array.from(table),
      maxBlocksPerSeq: 2,
      blockSize: 2,
    });
    const q = new Float32Array(2 * 8);
    const out = new Float32Array(2 * 8);
    const call = (b: AttentionBatch) => native.attention(out, q, kc, vc, 1, 2, 1, 8, 1, b);
    call(batch(0, 3, [0, 3]));
    assert.throws(() => call(batch(1, 0, [0, 1])), /tokenSeq\[0\] = 1/);
    assert.throws(() => call(batch(0, 4, [0, 1])), /tokenPos\[0\] = 4/);
    assert.throws(() => call(batch(0, 3, [0, 4])), /entry 1 = 4/);
    assert.throws(() => native.attention(out, q, kc, vc, 1, 3, 2, 8, 1, batch(0, 0, [0, 0])), /multiple of nKvHeads/);
  });

  it('setIsa rejects unknown names', () => {
    assert.throws(() => setIsa('sse9' as 'scalar'), /unknown ISA/);
  });
});
