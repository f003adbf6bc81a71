/** Loader error paths: every failure names the file, tensor, type or architecture involved. */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadModel } from '../../src/model/load.ts';
import { f32Bytes } from './gguf-writer.ts';
import { writeSafetensors, writeTinyGguf } from './helpers.ts';
import { modelPath } from './paths.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tsdeploy-errors-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const file = (ext: string) => join(tmp, `m${n++}${ext}`);

describe('GGUF load errors', () => {
  it('the tiny test GGUF itself loads', () => {
    const p = file('.gguf');
    writeTinyGguf(p);
    assert.equal(loadModel(p).spec.hiddenSize, 32);
  });

  it('names the tensor and the type of an unsupported tensor type', () => {
    const p = file('.gguf');
    writeTinyGguf(p, (_, tensors) => {
      tensors.find((t) => t.name === 'blk.0.attn_q.weight')!.type = 16;
    });
    assert.throws(() => loadModel(p), /tensor blk\.0\.attn_q\.weight has unsupported type IQ2_XXS \(16\)/);
  });

  it('rejects a row length that quantisation blocks do not tile', () => {
    const p = file('.gguf');
    writeTinyGguf(p, (_, tensors) => {
      const t = tensors.find((x) => x.name === 'blk.0.ffn_gate.weight')!;
      t.type = 12; // Q4_K needs rows of 256
      t.data = new Uint8Array(64 * 144);
    });
    assert.throws(
      () => loadModel(p),
      /tensor blk\.0\.ffn_gate\.weight: row length 32 is not a multiple of the Q4_K block size 256/,
    );
  });

  it('names a missing tensor', () => {
    const p = file('.gguf');
    writeTinyGguf(p, (_, tensors) => {
      tensors.splice(
        tensors.findIndex((t) => t.name === 'blk.0.ffn_down.weight'),
        1,
      );
    });
    assert.throws(() => loadModel(p), /missing tensor blk\.0\.ffn_down\.weight/);
  });

  it('names a tensor with the wrong shape', () => {
    const p = file('.gguf');
    writeTinyGguf(p, (_, tensors) => {
      const t = tensors.find((x) => x.name === 'blk.0.attn_k.weight')!;
      t.dims = [32, 32];
      t.data = f32Bytes(new Array(32 * 32).fill(0));
    });
    assert.throws(() => loadModel(p), /tensor blk\.0\.attn_k\.weight has ne \[32, 32\], expected \[32, 16\]/);
  });

  it('names an unknown architecture and lists the supported ones', () => {
    const p = file('.gguf');
    writeTinyGguf(p, (kvs) => {
      kvs[0] = { key: 'general.architecture', type: 'string', value: 'gpt2' };
    });
    assert.throws(
      () => loadModel(p),
      /unsupported GGUF architecture "gpt2" \(supported: llama, qwen2, qwen3, ernie4_5\)/,
    );
  });

  it('rejects bad magic and truncated tensor data', () => {
    const good = file('.gguf');
    writeTinyGguf(good);
    const bytes = readFileSync(good);
    const bad = file('.gguf');
    writeFileSync(bad, Buffer.concat([Buffer.from('GGML'), bytes.subarray(4)]));
    assert.throws(() => loadModel(bad), /not a GGUF file \(bad magic\)/);
    const cut = file('.gguf');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    assert.throws(() => loadModel(cut), /tensor blk\.0\.ffn_down\.weight extends past the end of the file/);
  });

  it('rejects directories with several .gguf files, and unknown paths', () => {
    const dir = join(tmp, 'two');
    mkdirSync(dir);
    writeTinyGguf(join(dir, 'a.gguf'));
    writeTinyGguf(join(dir, 'b.gguf'));
    assert.throws(() => loadModel(dir), /holds several GGUF files/);
    assert.equal(loadModel(join(dir, 'a.gguf')).format, 'gguf');
    assert.throws(() => loadModel(join(tmp, 'nope')), /does not exist/);
    const one = join(tmp, 'one');
    mkdirSync(one);
    writeTinyGguf(join(one, 'only.gguf'));
    assert.equal(loadModel(one).path, join(one, 'only.gguf'));
  });
});

describe('HF load errors', () => {
  /** A copy of synthetic/qwen2 with an edited config and/or tensors. */
  function qwen2Dir(editConfig?: (c: Record<string, unknown>) => void): string {
    const dir = join(tmp, `hf${n++}`);
    mkdirSync(dir);
    const config = JSON.parse(readFileSync(modelPath('synthetic/qwen2/config.json'), 'utf8'));
    editConfig?.(config);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    copyFileSync(modelPath('synthetic/qwen2/model.safetensors'), join(dir, 'model.safetensors'));
    return dir;
  }

  it('names an unknown architecture', () => {
    const dir = qwen2Dir((c) => {
      c.architectures = ['GPT2LMHeadModel'];
    });
    assert.throws(() => loadModel(dir), /unsupported architecture GPT2LMHeadModel \(supported: LlamaForCausalLM/);
  });

  it('names a missing tensor (untied head without lm_head.weight)', () => {
    const dir = qwen2Dir((c) => {
      c.tie_word_embeddings = false;
    });
    assert.throws(() => loadModel(dir), /missing tensor lm_head\.weight/);
  });

  it('names a tensor with an unsupported dtype', () => {
    const dir = qwen2Dir();
    writeSafetensors(join(dir, 'model.safetensors'), [
      ['model.embed_tokens.weight', 'I32', [512, 64], new Uint8Array(512 * 64 * 4)],
    ]);
    assert.throws(() => loadModel(dir), /tensor model\.embed_tokens\.weight has unsupported dtype I32/);
  });

  it('names a tensor with the wrong shape', () => {
    const dir = qwen2Dir((c) => {
      c.intermediate_size = 128;
    });
    assert.throws(
      () => loadModel(dir),
      /tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[96, 64\], expected \[128, 64\]/,
    );
  });
});
