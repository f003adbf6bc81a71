import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadModel } from '../../src/model/load.ts';
import { openSafetensors, readSafetensorsHeader } from '../../src/model/safetensors.ts';
import { writeSafetensors } from './helpers.ts';
import { modelPath } from './paths.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tsdeploy-st-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function rawHeader(path: string, header: string, dataBytes = 0, declaredLen?: bigint): void {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(declaredLen ?? BigInt(Buffer.byteLength(header)));
  writeFileSync(path, Buffer.concat([len, Buffer.from(header), Buffer.alloc(dataBytes)]));
}

describe('readSafetensorsHeader', () => {
  it('reads the synthetic qwen3 header', () => {
    const f = readSafetensorsHeader(modelPath('synthetic/qwen3/model.safetensors'));
    assert.deepEqual(f.metadata, { format: 'pt' });
    const t = f.tensors.get('model.layers.0.self_attn.q_proj.weight')!;
    assert.equal(t.dtype, 'F32');
    assert.deepEqual(t.shape, [128, 64]);
    assert.equal(t.end - t.begin, 128 * 64 * 4);
    assert.ok(t.begin >= f.dataOffset);
    assert.equal(f.tensors.get('model.layers.1.self_attn.k_norm.weight')?.shape[0], 32);
  });

  it('reads the Paddle U16 header', () => {
    const f = readSafetensorsHeader(modelPath('synthetic/ernie4_5-paddle/model.safetensors'));
    const t = f.tensors.get('ernie.layers.0.self_attn.qkv_proj.weight')!;
    assert.equal(t.dtype, 'U16');
    assert.deepEqual(t.shape, [64, 192]);
  });

  it('rejects headers over 100 MB, bad JSON, size mismatches, overlaps, holes and truncation', () => {
    const p = join(tmp, 'bad.safetensors');
    rawHeader(p, '{}', 0, BigInt(200 * 1024 * 1024));
    assert.throws(() => readSafetensorsHeader(p), /exceeds the 100 MB limit/);
    rawHeader(p, '{', 0, 10n);
    assert.throws(() => readSafetensorsHeader(p), /truncated/);
    rawHeader(p, '{"a": ');
    assert.throws(() => readSafetensorsHeader(p), /invalid safetensors header JSON/);
    rawHeader(p, JSON.stringify({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }), 12);
    assert.throws(() => readSafetensorsHeader(p), /tensor w \(F32 \[2,2\]\) needs 16 bytes but data_offsets span 12/);
    rawHeader(
      p,
      JSON.stringify({
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      }),
      12,
    );
    assert.throws(() => readSafetensorsHeader(p), /overlaps/);
    rawHeader(p, JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }), 12);
    assert.throws(() => readSafetensorsHeader(p), /hole in the data buffer before tensor a/);
    rawHeader(p, JSON.stringify({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }), 8);
    assert.throws(() => readSafetensorsHeader(p), /truncated safetensors file \(tensor a ends past the end\)/);
    rawHeader(p, JSON.stringify({ a: { dtype: 'F32', shape: [4], data_offsets: [16, 0] } }), 16);
    assert.throws(() => readSafetensorsHeader(p), /invalid data_offsets/);
  });

  it('accepts padded headers, scalars and zero-size tensors', () => {
    const p = join(tmp, 'ok.safetensors');
    rawHeader(
      p,
      `${JSON.stringify({
        s: { dtype: 'F32', shape: [], data_offsets: [0, 4] },
        z: { dtype: 'BF16', shape: [0, 3], data_offsets: [4, 4] },
        x: { dtype: 'F8_E4M3', shape: [3], data_offsets: [4, 7] },
      })}   `,
      7,
    );
    const f = readSafetensorsHeader(p);
    assert.deepEqual([...f.tensors.keys()].sort(), ['s', 'x', 'z']);
  });
});

describe('sharded checkpoints', () => {
  it('loads a model split over two shards the same as the single file', () => {
    const src = modelPath('synthetic/qwen2/');
    const single = readSafetensorsHeader(`${src}model.safetensors`);
    const one = loadModel(src);
    const dir = join(tmp, 'sharded');
    mkdirSync(dir);
    copyFileSync(`${src}config.json`, join(dir, 'config.json'));
    // rewrite the tensors into two shards by layer parity
    const bytes = readFileSync(`${src}model.safetensors`);
    const shards: [string, string, number[], Uint8Array][][] = [[], []];
    const weightMap: Record<string, string> = {};
    for (const [name, t] of single.tensors) {
      const k = name.includes('layers.1.') ? 1 : 0;
      shards[k].push([name, t.dtype, t.shape, bytes.subarray(t.begin, t.end)]);
      weightMap[name] = `model-0000${k + 1}-of-00002.safetensors`;
    }
    writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), shards[0]);
    writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), shards[1]);
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
    );

    const st = openSafetensors(dir);
    assert.equal(st.files.length, 2);
    const two = loadModel(dir);
    assert.equal(two.format, 'hf');
    assert.deepEqual(two.weights.layers[1].bq, one.weights.layers[1].bq);
    assert.ok(Buffer.from(two.weights.layers[1].wq.data).equals(Buffer.from(one.weights.layers[1].wq.data)));
    assert.ok(Buffer.from(two.weights.embedding.data).equals(Buffer.from(one.weights.embedding.data)));
    assert.notEqual(two.weights.layers[1].wq.data.buffer, two.weights.layers[0].wq.data.buffer);

    // an index pointing at the wrong shard is an error
    weightMap['model.norm.weight'] = 'model-00002-of-00002.safetensors';
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    assert.throws(
      () => openSafetensors(dir),
      /tensor model\.norm\.weight is not in shard model-00002-of-00002\.safetensors/,
    );
  });
});
