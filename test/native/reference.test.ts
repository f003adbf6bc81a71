/**
 * The TypeScript reference on its own: f16/bf16 conversion, the llama.cpp-style quantizers, and every
 * block format rebuilt by hand from the layout description in models.md §2.5 (an encoder written
 * independently of the decoder under test).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bf16BitsToF32,
  dequantizeRow,
  f16BitsToF32,
  f32ToBf16Bits,
  f32ToF16Bits,
  fmaF32,
  ggmlRowBytes,
  quantizeActivations,
  quantizeQ4_0,
  quantizeQ8_0,
} from '../../src/native/reference.ts';
import { GgmlType } from '../../src/native/types.ts';
import { Rng } from './helpers.ts';

const ONE_F16 = 0x3c00;

describe('f16 / bf16 conversion', () => {
  it('converts known values to f16', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up to infinity
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie → even (zero)
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal units → even
      [1 + 2 ** -11, 0x3c00], // tie → even
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even (up)
    ];
    for (const [x, h] of cases) assert.equal(f32ToF16Bits(x), h, `f16(${x})`);
    assert.equal(f32ToF16Bits(Number.NaN) & 0x7e00, 0x7e00);
  });

  it('round-trips every finite f16 value', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      assert.equal(f32ToF16Bits(f16BitsToF32(h)), h, `0x${h.toString(16)}`);
    }
    assert.equal(f16BitsToF32(0x7c00), Infinity);
    assert.ok(Number.isNaN(f16BitsToF32(0x7e00)));
  });

  it('converts bf16 with round-to-nearest-even', () => {
    assert.equal(f32ToBf16Bits(1), 0x3f80);
    assert.equal(f32ToBf16Bits(-1), 0xbf80);
    assert.equal(f32ToBf16Bits(1 + 2 ** -8), 0x3f80); // tie → even
    assert.equal(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82); // tie → even (up)
    assert.equal(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20), 0x3f81);
    assert.equal(f32ToBf16Bits(Infinity), 0x7f80);
    assert.ok(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(Number.NaN))));
    for (const h of [0x0000, 0x3f80, 0xc2f7, 0x0001, 0x7f7f]) assert.equal(f32ToBf16Bits(bf16BitsToF32(h)), h);
  });
});

describe('reference quantizers', () => {
  it('Q8_0: d = amax/127, q = round half away from zero', () => {
    const x = new Float32Array(32);
    x[0] = 63.5; // amax → d = 0.5
    x[1] = -63.5;
    x[2] = 0.25; // 0.5 units → rounds away from zero to 1
    x[3] = -0.25;
    x[4] = 0.2;
    const q = quantizeQ8_0(x);
    assert.equal(q.length, 34);
    assert.equal(q[0] | (q[1] << 8), 0x3800); // 0.5
    const qs = new Int8Array(q.buffer, 2, 32);
    assert.deepEqual(Array.from(qs.subarray(0, 6)), [127, -127, 1, -1, 0, 0]);
    const w = { type: GgmlType.Q8_0, rows: 1, cols: 32, data: q };
    assert.deepEqual(Array.from(dequantizeRow(w, 0).subarray(0, 5)), [63.5, -63.5, 0.5, -0.5, 0]);
  });

  it('Q8_0 round-trips random data within d/2', () => {
    const rng = new Rng(1);
    const x = rng.f32(96, -3, 3);
    const w = { type: GgmlType.Q8_0, rows: 1, cols: 96, data: quantizeQ8_0(x) };
    const y = dequantizeRow(w, 0);
    for (let b = 0; b < 3; b++) {
      const amax = Math.max(...Array.from(x.subarray(32 * b, 32 * b + 32), Math.abs));
      for (let j = 32 * b; j < 32 * b + 32; j++) assert.ok(Math.abs(x[j] - y[j]) <= (amax / 127) * 0.5 + 1e-3);
    }
  });

  it('Q4_0: d = max/−8 (signed), q = min(15, trunc(x/d + 8.5))', () => {
    const x = new Float32Array(32);
    x.set([-8, 7, 0, 3.4, 7.6, -7.9]);
    const q = quantizeQ4_0(x);
    assert.equal(q.length, 18);
    assert.equal(q[0] | (q[1] << 8), ONE_F16); // d = −8/−8 = 1
    // element j in the low nibble of qs[j], j+16 in the high nibble
    assert.deepEqual(
      Array.from(q.subarray(2, 8), (b) => b & 0xf),
      [0, 15, 8, 11, 15, 0],
    );
    assert.equal(q[2] >> 4, 8); // element 16 = 0
    const w = { type: GgmlType.Q4_0, rows: 1, cols: 32, data: q };
    assert.deepEqual(Array.from(dequantizeRow(w, 0).subarray(0, 6)), [-8, 7, 0, 3, 7, -8]);

    const pos = new Float32Array(32);
    pos.set([8, 1, -7]); // largest magnitude positive → d = −1
    const wp = { type: GgmlType.Q4_0, rows: 1, cols: 32, data: quantizeQ4_0(pos) };
    assert.deepEqual(Array.from(dequantizeRow(wp, 0).subarray(0, 3)), [8, 1, -7]);
  });

  it('rejects lengths that are not whole blocks', () => {
    assert.throws(() => quantizeQ8_0(new Float32Array(33)), /multiple of 32/);
    assert.throws(() => ggmlRowBytes(GgmlType.Q4_K, 128), /multiple of 256/);
  });
});

// ---- hand-built blocks (encoders follow the §2.5 text) -------------------------------------------

function f16(v: number): [number, number] {
  const h = f32ToF16Bits(v);
  return [h & 0xff, h >> 8];
}

/** Pack 8 six-bit scales and mins into the 12-byte K-quant scales field. */
function packScalesK4(sc: number[], m: number[]): number[] {
  const s = new Array<number>(12).fill(0);
  for (let j = 0; j < 4; j++) {
    s[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
    s[j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
    s[j + 8] = (sc[j + 4] & 0x0f) | ((m[j + 4] & 0x0f) << 4);
  }
  return s;
}

const fr = Math.fround;

describe('integer matmul helpers', () => {
  it('fmaF32 rounds once, also where the double sum lands exactly between two f32 values', () => {
    // a·b = 64 + δ with 0 < δ < 2^-23: the double sum 2^30 + a·b rounds to the f32 midpoint 2^30 + 64,
    // which a second rounding would send to even (2^30); the single rounding gives 2^30 + 128.
    let found = 0;
    for (let a = 100001; a < 100001 + 4000 && found < 5; a += 2) {
      const b0 = Math.fround(64 / a);
      for (const b of [b0, Math.fround(b0 * (1 + 2 ** -23)), Math.fround(b0 * (1 - 2 ** -23))]) {
        const delta = a * b - 64;
        if (!(delta > 0 && delta < 2 ** -23)) continue;
        found++;
        assert.equal(Math.fround(a * b + 2 ** 30), 2 ** 30, 'double rounding');
        assert.equal(fmaF32(a, b, 2 ** 30), 2 ** 30 + 128);
        assert.equal(fmaF32(-a, b, -(2 ** 30)), -(2 ** 30) - 128);
      }
    }
    assert.ok(found > 0, 'found a double-rounding case');
    // ordinary cases equal the correctly rounded double result
    const rng = new Rng(5);
    for (let i = 0; i < 10000; i++) {
      const a = Math.round(rng.uniform(-70000, 70000));
      const b = Math.fround(rng.uniform(-1e-3, 1e-3));
      const c = Math.fround(rng.uniform(-50, 50));
      const exact = a * b + c;
      const r = fmaF32(a, b, c);
      assert.ok(Math.abs(r - exact) <= Math.abs(exact) * 2 ** -24 * 1.0000001, `${a}·${b} + ${c}`);
    }
  });

  it('quantizeActivations: d = amax/127, ties to even, zero blocks', () => {
    const x = new Float32Array(64);
    x[0] = 127;
    x[1] = 2.5;
    x[2] = -2.5;
    x[3] = 3.5;
    x[4] = -0.4;
    const { q, d } = quantizeActivations(x, 0, 64);
    assert.deepEqual(Array.from(d), [1, 0]);
    assert.deepEqual(Array.from(q.subarray(0, 5)), [127, 2, -2, 4, 0]);
    assert.ok(q.subarray(32).every((v) => v === 0));
  });
});

describe('block formats (models.md §2.5)', () => {
  const rng = new Rng(2);

  it('Q4_1: q·d + m', () => {
    const q = Array.from({ length: 32 }, () => rng.int(16));
    const bytes = [...f16(0.5), ...f16(-1.25)];
    for (let j = 0; j < 16; j++) bytes.push(q[j] | (q[j + 16] << 4));
    const y = dequantizeRow({ type: GgmlType.Q4_1, rows: 1, cols: 32, data: Uint8Array.from(bytes) }, 0);
    assert.deepEqual(
      Array.from(y),
      q.map((v) => v * 0.5 - 1.25),
    );
  });

  for (const type of [GgmlType.Q5_0, GgmlType.Q5_1]) {
    it(`${GgmlType[type]}: 5th bit from qh`, () => {
      const q = Array.from({ length: 32 }, () => rng.int(32));
      let qh = 0;
      for (let j = 0; j < 32; j++) qh += (q[j] >> 4) * 2 ** j;
      const bytes = [...f16(0.25)];
      if (type === GgmlType.Q5_1) bytes.push(...f16(2));
      bytes.push(qh & 0xff, (qh >>> 8) & 0xff, (qh >>> 16) & 0xff, (qh >>> 24) & 0xff);
      for (let j = 0; j < 16; j++) bytes.push((q[j] & 0xf) | ((q[j + 16] & 0xf) << 4));
      const y = dequantizeRow({ type, rows: 1, cols: 32, data: Uint8Array.from(bytes) }, 0);
      const expected = q.map((v) => (type === GgmlType.Q5_0 ? (v - 16) * 0.25 : v * 0.25 + 2));
      assert.deepEqual(Array.from(y), expected);
    });
  }

  for (const type of [GgmlType.Q4_K, GgmlType.Q5_K]) {
    it(`${GgmlType[type]}: d·sc_j·q − dmin·m_j over 8 sub-blocks of 32`, () => {
      const five = type === GgmlType.Q5_K;
      const sc = Array.from({ length: 8 }, () => rng.int(64));
      const m = Array.from({ length: 8 }, () => rng.int(64));
      const q = Array.from({ length: 256 }, () => rng.int(five ? 32 : 16));
      const d = 0.0625;
      const dmin = 0.03125;
      const qs = new Array<number>(128).fill(0);
      const qh = new Array<number>(32).fill(0);
      for (let c = 0; c < 4; c++) {
        for (let l = 0; l < 32; l++) {
          const lo = q[64 * c + l]; // sub-block 2c
          const hi = q[64 * c + 32 + l]; // sub-block 2c+1
          qs[32 * c + l] = (lo & 0xf) | ((hi & 0xf) << 4);
          qh[l] |= ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1));
        }
      }
      const bytes = [...f16(d), ...f16(dmin), ...packScalesK4(sc, m), ...(five ? qh : []), ...qs];
      assert.equal(bytes.length, five ? 176 : 144);
      const y = dequantizeRow({ type, rows: 1, cols: 256, data: Uint8Array.from(bytes) }, 0);
      for (let e = 0; e < 256; e++) {
        const j = Math.floor(e / 32);
        assert.equal(y[e], fr(fr(fr(d * sc[j]) * q[e]) - fr(dmin * m[j])), `element ${e}`);
      }
    });
  }

  it('Q6_K: d·scale·(q − 32) with ql/qh/scales split in two halves', () => {
    const q = Array.from({ length: 256 }, () => rng.int(64));
    const scales = Array.from({ length: 16 }, () => rng.int(256) - 128);
    const ql = new Array<number>(128).fill(0);
    const qh = new Array<number>(64).fill(0);
    for (let h = 0; h < 2; h++) {
      for (let l = 0; l < 32; l++) {
        const [a, b, c, e] = [0, 32, 64, 96].map((k) => q[128 * h + l + k]);
        ql[64 * h + l] = (a & 0xf) | ((c & 0xf) << 4);
        ql[64 * h + l + 32] = (b & 0xf) | ((e & 0xf) << 4);
        qh[32 * h + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
      }
    }
    const d = 0.01;
    const bytes = [...ql, ...qh, ...scales.map((s) => s & 0xff), ...f16(d)];
    assert.equal(bytes.length, 210);
    const y = dequantizeRow({ type: GgmlType.Q6_K, rows: 1, cols: 256, data: Uint8Array.from(bytes) }, 0);
    const df = f16BitsToF32(f32ToF16Bits(d));
    for (let e = 0; e < 256; e++) {
      // element 128h + l + 32k uses scale 8h + floor(l/16) + 2k
      const h = Math.floor(e / 128);
      const l = e % 32;
      const k = Math.floor((e % 128) / 32);
      const s = scales[8 * h + Math.floor(l / 16) + 2 * k];
      assert.equal(y[e], fr(fr(df * s) * (q[e] - 32)), `element ${e}`);
    }
  });

  it('F16 / BF16 / F32 rows decode little-endian values', () => {
    const f16row = Uint8Array.of(0x00, 0x3c, 0x00, 0xc0);
    assert.deepEqual(Array.from(dequantizeRow({ type: GgmlType.F16, rows: 1, cols: 2, data: f16row }, 0)), [1, -2]);
    const bf = Uint8Array.of(0x80, 0x3f, 0x40, 0xc0);
    assert.deepEqual(Array.from(dequantizeRow({ type: GgmlType.BF16, rows: 1, cols: 2, data: bf }, 0)), [1, -3]);
    const f32 = new Uint8Array(Float32Array.of(0.1, 5).buffer);
    assert.deepEqual(Array.from(dequantizeRow({ type: GgmlType.F32, rows: 2, cols: 1, data: f32 }, 1)), [5]);
  });
});
