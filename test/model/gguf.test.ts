import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readGguf } from '../../src/model/gguf.ts';
import { buildGguf, f32Bytes } from './gguf-writer.ts';
import { modelPath } from './paths.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tsdeploy-gguf-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('readGguf', () => {
  it('parses stories260K.gguf metadata and tensor list', () => {
    const g = readGguf(modelPath('stories260K/stories260K.gguf'));
    assert.equal(g.version, 3);
    assert.equal(g.alignment, 32);
    assert.equal(g.dataOffset % 32, 0);
    const md = g.metadata;
    assert.equal(md.get('general.architecture'), 'llama');
    assert.equal(md.get('general.name'), 'stories260K');
    assert.equal(md.get('llama.embedding_length'), 64);
    assert.equal(md.get('llama.block_count'), 5);
    assert.equal(md.get('llama.feed_forward_length'), 172);
    assert.equal(md.get('llama.attention.head_count'), 8);
    assert.equal(md.get('llama.attention.head_count_kv'), 4);
    assert.equal(md.get('llama.context_length'), 512);
    assert.equal(md.get('llama.rope.freq_base'), 10000);
    assert.equal(md.get('llama.attention.layer_norm_rms_epsilon'), Math.fround(1e-5));
    assert.equal(md.get('tokenizer.ggml.add_bos_token'), true);
    assert.equal(md.get('tokenizer.ggml.add_eos_token'), false);
    assert.equal(md.get('tokenizer.ggml.bos_token_id'), 1);
    assert.equal(md.get('tokenizer.ggml.eos_token_id'), 2);
    const tokens = md.get('tokenizer.ggml.tokens') as string[];
    assert.equal(tokens.length, 512);
    assert.deepEqual(tokens.slice(0, 4), ['<unk>', '<s>', '</s>', '<0x00>']);
    const scores = md.get('tokenizer.ggml.scores') as number[];
    assert.equal(scores.length, 512);
    assert.ok(scores.every((s) => typeof s === 'number'));
    assert.deepEqual((md.get('tokenizer.ggml.token_type') as number[]).slice(0, 4), [2, 3, 3, 6]);

    // 3 global tensors + 9 per layer
    assert.equal(g.tensors.length, 3 + 5 * 9);
    const byName = new Map(g.tensors.map((t) => [t.name, t]));
    assert.deepEqual(byName.get('token_embd.weight'), {
      name: 'token_embd.weight',
      dims: [64, 512],
      type: 0,
      offset: 0,
    });
    assert.deepEqual(byName.get('blk.0.attn_k.weight')?.dims, [64, 32]);
    assert.deepEqual(byName.get('blk.4.ffn_down.weight')?.dims, [172, 64]);
    assert.deepEqual(byName.get('output_norm.weight')?.dims, [64]);
    // the last tensor ends exactly at the end of the file
    const last = g.tensors.reduce((a, b) => (a.offset > b.offset ? a : b));
    const size = readFileSync(modelPath('stories260K/stories260K.gguf')).length;
    assert.equal(g.dataOffset + last.offset + last.dims.reduce((a, b) => a * b, 1) * 4, size);
  });

  it('parses the synthetic GGUFs', () => {
    const cases: [string, string, number][] = [
      ['synthetic/llama/llama.gguf', 'llama', 2 + 1 + 2 * 9],
      ['synthetic/qwen2/qwen2.gguf', 'qwen2', 2 + 2 * 12],
      ['synthetic/qwen3/qwen3.gguf', 'qwen3', 2 + 2 * 11],
      ['synthetic/ernie4_5/ernie4_5.gguf', 'ernie4_5', 2 + 2 * 9],
      ['synthetic/ernie4_5/ernie4_5.llama-arch.gguf', 'llama', 2 + 2 * 9],
    ];
    for (const [file, arch, nTensors] of cases) {
      const g = readGguf(modelPath(file));
      assert.equal(g.metadata.get('general.architecture'), arch, file);
      assert.equal(g.tensors.length, nTensors, file);
      assert.equal(g.metadata.get(`${arch}.embedding_length`), 64, file);
    }
    const q3 = readGguf(modelPath('synthetic/qwen3/qwen3.gguf'));
    assert.equal(q3.metadata.get('qwen3.attention.key_length'), 32);
    assert.ok(q3.tensors.some((t) => t.name === 'blk.1.attn_q_norm.weight' && t.dims[0] === 32));
    const ernie = readGguf(modelPath('synthetic/ernie4_5/ernie4_5.gguf'));
    assert.equal((ernie.metadata.get('tokenizer.ggml.tokens') as string[]).length, 528);
    assert.equal(ernie.metadata.get('tokenizer.ggml.padding_token_id'), 0);
  });

  it('round-trips every value type written by the test writer', () => {
    const buf = buildGguf(
      [
        { key: 'a.u32', type: 'u32', value: 4000000000 },
        { key: 'a.i32', type: 'i32', value: -7 },
        { key: 'a.u64', type: 'u64', value: 2 ** 40 },
        { key: 'a.f32', type: 'f32', value: 0.5 },
        { key: 'a.bool', type: 'bool', value: true },
        { key: 'a.str', type: 'string', value: 'héllo ▁' },
        { key: 'a.strs', type: 'string[]', value: ['x', '', 'yz'] },
        { key: 'a.f32s', type: 'f32[]', value: [1, -2.5] },
        { key: 'a.i32s', type: 'i32[]', value: [3, -4] },
        { key: 'general.alignment', type: 'u32', value: 64 },
      ],
      [{ name: 't', dims: [2], type: 0, data: f32Bytes([1, 2]) }],
    );
    const p = join(tmp, 'types.gguf');
    writeFileSync(p, buf);
    const g = readGguf(p);
    assert.equal(g.metadata.get('a.u32'), 4000000000);
    assert.equal(g.metadata.get('a.i32'), -7);
    assert.equal(g.metadata.get('a.u64'), 2 ** 40);
    assert.equal(g.metadata.get('a.f32'), 0.5);
    assert.equal(g.metadata.get('a.bool'), true);
    assert.equal(g.metadata.get('a.str'), 'héllo ▁');
    assert.deepEqual(g.metadata.get('a.strs'), ['x', '', 'yz']);
    assert.deepEqual(g.metadata.get('a.f32s'), [1, -2.5]);
    assert.deepEqual(g.metadata.get('a.i32s'), [3, -4]);
    assert.equal(g.alignment, 64);
    assert.equal(g.dataOffset % 64, 0);
  });

  it('rejects bad magic, version 1 and truncated files', () => {
    const good = readFileSync(modelPath('stories260K/stories260K.gguf'));
    const bad = Buffer.from(good.subarray(0, 4096));
    bad.write('GGUX', 0, 'latin1');
    writeFileSync(join(tmp, 'bad.gguf'), bad);
    assert.throws(() => readGguf(join(tmp, 'bad.gguf')), /not a GGUF file \(bad magic\)/);

    writeFileSync(join(tmp, 'tiny.gguf'), Buffer.from('GG'));
    assert.throws(() => readGguf(join(tmp, 'tiny.gguf')), /bad magic/);

    const v1 = Buffer.from(good.subarray(0, 4096));
    v1.writeUInt32LE(1, 4);
    writeFileSync(join(tmp, 'v1.gguf'), v1);
    assert.throws(() => readGguf(join(tmp, 'v1.gguf')), /version 1 is not supported/);

    // cut inside the token list (metadata) and inside the tensor infos
    for (const cut of [100, 5000, 14000]) {
      writeFileSync(join(tmp, 'cut.gguf'), good.subarray(0, cut));
      assert.throws(() => readGguf(join(tmp, 'cut.gguf')), /truncated/, `cut at ${cut}`);
    }
  });
});
