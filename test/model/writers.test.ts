import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readGguf } from '../../src/model/gguf.ts';
import { readSafetensorsHeader } from '../../src/model/safetensors.ts';
import { GgufWriter, ggufTensorBytes } from '../../src/model/writers/gguf-writer.ts';
import { SafetensorsWriter } from '../../src/model/writers/safetensors-writer.ts';
import { quantizeQ8_0 } from '../../src/native/reference.ts';
import { GgmlType } from '../../src/native/types.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tsdeploy-writers-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** Write `data` as chunks of at most `size` bytes. */
function writeChunked(w: { write(name: string, c: Uint8Array): void }, name: string, data: Uint8Array, size: number) {
  for (let o = 0; o < data.length; o += size) w.write(name, data.subarray(o, o + size));
}

describe('GgufWriter', () => {
  it('round-trips every metadata value type through readGguf', () => {
    const p = join(tmp, 'kv.gguf');
    const w = GgufWriter.create(
      p,
      [
        { key: 'v.u8', type: 'u8', value: 255 },
        { key: 'v.i8', type: 'i8', value: -128 },
        { key: 'v.u16', type: 'u16', value: 65535 },
        { key: 'v.i16', type: 'i16', value: -32768 },
        { key: 'v.u32', type: 'u32', value: 4000000000 },
        { key: 'v.i32', type: 'i32', value: -7 },
        { key: 'v.u64', type: 'u64', value: 2n ** 52n },
        { key: 'v.i64', type: 'i64', value: -(2 ** 40) },
        { key: 'v.f32', type: 'f32', value: 0.1 },
        { key: 'v.f64', type: 'f64', value: 0.1 },
        { key: 'v.bool', type: 'bool', value: false },
        { key: 'v.str', type: 'string', value: 'héllo ▁ 🙂' },
        { key: 'v.strs', type: 'string[]', value: ['x', '', '<0x0A>', '▁the'] },
        { key: 'v.f32s', type: 'f32[]', value: new Float32Array([1, -2.5, -10000]) },
        { key: 'v.i32s', type: 'i32[]', value: [1, 5, -3] },
        { key: 'v.u8s', type: 'u8[]', value: [0, 200] },
        { key: 'v.u64s', type: 'u64[]', value: [1n, 2 ** 33] },
        { key: 'v.f64s', type: 'f64[]', value: [Math.PI] },
        { key: 'v.bools', type: 'bool[]', value: [true, false] },
        { key: 'v.empty', type: 'string[]', value: [] },
      ],
      [],
    );
    w.finish();
    const g = readGguf(p);
    const md = g.metadata;
    assert.equal(g.version, 3);
    assert.equal(md.size, 20);
    assert.equal(md.get('v.u8'), 255);
    assert.equal(md.get('v.i8'), -128);
    assert.equal(md.get('v.u16'), 65535);
    assert.equal(md.get('v.i16'), -32768);
    assert.equal(md.get('v.u32'), 4000000000);
    assert.equal(md.get('v.i32'), -7);
    assert.equal(md.get('v.u64'), 2 ** 52);
    assert.equal(md.get('v.i64'), -(2 ** 40));
    assert.equal(md.get('v.f32'), Math.fround(0.1));
    assert.equal(md.get('v.f64'), 0.1);
    assert.equal(md.get('v.bool'), false);
    assert.equal(md.get('v.str'), 'héllo ▁ 🙂');
    assert.deepEqual(md.get('v.strs'), ['x', '', '<0x0A>', '▁the']);
    assert.deepEqual(md.get('v.f32s'), [1, -2.5, -10000]);
    assert.deepEqual(md.get('v.i32s'), [1, 5, -3]);
    assert.deepEqual(md.get('v.u8s'), [0, 200]);
    assert.deepEqual(md.get('v.u64s'), [1, 2 ** 33]);
    assert.deepEqual(md.get('v.f64s'), [Math.PI]);
    assert.deepEqual(md.get('v.bools'), [true, false]);
    assert.deepEqual(md.get('v.empty'), []);
  });

  it('rejects values that do not fit their type and duplicate keys', () => {
    const p = join(tmp, 'bad.gguf');
    assert.throws(() => GgufWriter.create(p, [{ key: 'k', type: 'u8', value: 256 }], []), /k: 256 is not a u8/);
    assert.throws(() => GgufWriter.create(p, [{ key: 'k', type: 'i32', value: 1.5 }], []), /not a i32/);
    assert.throws(
      () =>
        GgufWriter.create(
          p,
          [
            { key: 'k', type: 'u32', value: 1 },
            { key: 'k', type: 'u32', value: 2 },
          ],
          [],
        ),
      /duplicate GGUF metadata key k/,
    );
    assert.ok(!existsSync(p) && !existsSync(`${p}.partial`));
  });

  for (const alignment of [32, 64]) {
    it(`streams tensors in chunks at ${alignment}-byte aligned offsets`, () => {
      const p = join(tmp, `t${alignment}.gguf`);
      const q8 = quantizeQ8_0(Array.from({ length: 64 * 3 }, (_, i) => Math.sin(i)));
      const tensors = [
        { name: 'a', dims: [5], type: GgmlType.F32, data: bytes(20, 1) },
        { name: 'b', dims: [64, 3], type: GgmlType.Q8_0, data: q8 },
        { name: 'c', dims: [3, 7], type: GgmlType.BF16, data: bytes(42, 2) },
        { name: 'empty', dims: [0], type: GgmlType.F32, data: new Uint8Array(0) },
        { name: 'd', dims: [2, 2, 2], type: GgmlType.F32, data: bytes(32, 3) },
      ];
      const kvs = alignment === 32 ? [] : [{ key: 'general.alignment', type: 'u32' as const, value: alignment }];
      const w = GgufWriter.create(p, kvs, tensors);
      for (const t of tensors) {
        assert.equal(ggufTensorBytes(t.dims, t.type), t.data.length);
        if (t.data.length > 0) {
          assert.equal(w.current, t.name);
          writeChunked(w, t.name, t.data, 7);
        }
      }
      assert.equal(w.current, undefined);
      w.finish();

      const g = readGguf(p);
      const file = readFileSync(p);
      assert.equal(g.alignment, alignment);
      assert.equal(g.dataOffset % alignment, 0);
      assert.equal(file.length % alignment, 0);
      assert.deepEqual(
        g.tensors.map((t) => [t.name, t.dims, t.type]),
        tensors.map((t) => [t.name, t.dims, t.type]),
      );
      for (const [i, t] of g.tensors.entries()) {
        assert.equal(t.offset % alignment, 0);
        const start = g.dataOffset + t.offset;
        assert.deepEqual(file.subarray(start, start + tensors[i].data.length), Buffer.from(tensors[i].data), t.name);
      }
      assert.deepEqual(
        readdirSync(tmp).filter((f) => f.endsWith('.partial')),
        [],
      );
    });
  }

  it('refuses out-of-order, oversized and incomplete tensor data, leaving no file behind', () => {
    const p = join(tmp, 'order.gguf');
    const tensors = [
      { name: 'x', dims: [4], type: GgmlType.F32 },
      { name: 'y', dims: [4], type: GgmlType.F32 },
    ];
    const w = GgufWriter.create(p, [], tensors);
    assert.throws(() => w.write('y', bytes(16, 0)), /expected data for tensor x, got y/);
    assert.throws(() => w.write('x', bytes(17, 0)), /x takes 16 bytes, got 17/);
    w.write('x', bytes(16, 0));
    w.write('y', bytes(8, 0));
    assert.throws(() => w.finish(), /1 tensor\(s\) not written, starting with y/);
    assert.ok(!existsSync(p) && !existsSync(`${p}.partial`));

    // unknown types need an explicit byte size
    assert.throws(() => GgufWriter.create(p, [], [{ name: 'z', dims: [32], type: 16 }]), /unsupported ggml type 16/);
  });
});

describe('SafetensorsWriter', () => {
  it('writes a header readSafetensorsHeader accepts, 8-byte aligned data, streamed tensors', () => {
    const p = join(tmp, 'model.safetensors');
    const tensors = [
      { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [3, 5] },
      { name: 'model.norm.weight', dtype: 'BF16', shape: [5] },
      { name: 'empty', dtype: 'F32', shape: [0, 4] },
      { name: 'scalar', dtype: 'I64', shape: [] },
    ];
    const data = [bytes(60, 1), bytes(10, 2), new Uint8Array(0), bytes(8, 3)];
    const w = SafetensorsWriter.create(p, tensors, { format: 'pt' });
    tensors.forEach((t, i) => {
      if (data[i].length > 0) writeChunked(w, t.name, data[i], 13);
    });
    w.finish();

    const f = readSafetensorsHeader(p);
    const file = readFileSync(p);
    assert.equal(f.dataOffset % 8, 0);
    assert.deepEqual(f.metadata, { format: 'pt' });
    assert.equal(statSync(p).size, f.dataOffset + 78);
    tensors.forEach((t, i) => {
      const got = f.tensors.get(t.name)!;
      assert.equal(got.dtype, t.dtype);
      assert.deepEqual(got.shape, t.shape);
      assert.deepEqual(file.subarray(got.begin, got.end), Buffer.from(data[i]), t.name);
    });
  });

  it('rejects unknown dtypes and duplicate names', () => {
    const p = join(tmp, 'bad.safetensors');
    assert.throws(() => SafetensorsWriter.create(p, [{ name: 'a', dtype: 'Q4', shape: [1] }]), /unsupported.*Q4/);
    assert.throws(
      () =>
        SafetensorsWriter.create(p, [
          { name: 'a', dtype: 'F32', shape: [1] },
          { name: 'a', dtype: 'F32', shape: [1] },
        ]),
      /duplicate/,
    );
  });
});
