/**
 * Weight layout tests: the same model in different files must give the same numbers once the
 * documented layout differences are accounted for (models.md §2.4 permutation, §1.10 Paddle).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ropeInvFreq } from '../../src/model/hf-config.ts';
import { loadModel } from '../../src/model/load.ts';
import { readSafetensorsHeader } from '../../src/model/safetensors.ts';
import type { LayerWeights, LoadedModel } from '../../src/model/types.ts';
import { GgmlType, type WeightMatrix } from '../../src/native/types.ts';
import { f32Bytes } from './gguf-writer.ts';
import { roundToBf16, row, rows, writeSafetensors, writeTinyGguf } from './helpers.ts';
import { modelPath } from './paths.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tsdeploy-weights-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const MATRICES = ['wq', 'wk', 'wv', 'wo', 'wGate', 'wUp', 'wDown'] as const;
const VECTORS = ['attnNorm', 'ffnNorm', 'bq', 'bk', 'bv', 'qNorm', 'kNorm'] as const;

function sameBytes(a: WeightMatrix, b: WeightMatrix, what: string): void {
  assert.equal(a.rows, b.rows, what);
  assert.equal(a.cols, b.cols, what);
  assert.equal(a.type, b.type, what);
  assert.ok(Buffer.from(a.data).equals(Buffer.from(b.data)), `${what}: bytes differ`);
}

/** GGUF `llama` row h·hd + 2i + s holds HF row h·hd + s·hd/2 + i (models.md §2.4). */
function assertPermuted(hf: WeightMatrix, gguf: WeightMatrix, nHeads: number, hd: number, what: string): void {
  assert.equal(hf.rows, nHeads * hd);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < hd / 2; i++) {
      for (let s = 0; s < 2; s++) {
        assert.deepEqual(
          row(gguf, h * hd + 2 * i + s),
          row(hf, h * hd + s * (hd / 2) + i),
          `${what} head ${h} pair ${i}.${s}`,
        );
      }
    }
  }
  // and it is a real permutation, not the identity
  assert.notDeepEqual(rows(gguf), rows(hf));
}

function compareModels(hf: LoadedModel, gguf: LoadedModel, permuted: boolean): void {
  const { numHeads, numKvHeads, headDim } = hf.spec;
  sameBytes(hf.weights.embedding, gguf.weights.embedding, 'embedding');
  sameBytes(hf.weights.lmHead, gguf.weights.lmHead, 'lmHead');
  assert.deepEqual(hf.weights.finalNorm, gguf.weights.finalNorm);
  hf.weights.layers.forEach((l, n) => {
    const g = gguf.weights.layers[n];
    for (const k of MATRICES) {
      if (permuted && k === 'wq') assertPermuted(l.wq, g.wq, numHeads, headDim, `layer ${n} wq`);
      else if (permuted && k === 'wk') assertPermuted(l.wk, g.wk, numKvHeads, headDim, `layer ${n} wk`);
      else sameBytes(l[k], g[k], `layer ${n} ${k}`);
    }
    for (const k of VECTORS) assert.deepEqual(l[k], g[k], `layer ${n} ${k}`);
  });
}

describe('HF and GGUF weights agree', () => {
  it('stories260K: HF q/k rows equal GGUF rows under the llama.cpp permutation', () => {
    const hf = loadModel(modelPath('stories260K/hf'));
    const gguf = loadModel(modelPath('stories260K/stories260K.gguf'));
    compareModels(hf, gguf, true);
  });
  it('synthetic llama: permuted q/k, untied head', () => {
    compareModels(loadModel(modelPath('synthetic/llama')), loadModel(modelPath('synthetic/llama/llama.gguf')), true);
  });
  it('qwen2 (biases), qwen3 (q/k norms), ernie4_5: not permuted', () => {
    for (const [dir, file] of [
      ['synthetic/qwen2', 'qwen2.gguf'],
      ['synthetic/qwen3', 'qwen3.gguf'],
      ['synthetic/ernie4_5', 'ernie4_5.gguf'],
      ['synthetic/ernie4_5', 'ernie4_5.llama-arch.gguf'],
    ]) {
      compareModels(loadModel(modelPath(dir)), loadModel(modelPath(`${dir}/${file}`)), false);
    }
  });
  it('weights are views into the mapped file, not copies', () => {
    const m = loadModel(modelPath('synthetic/qwen3'));
    const buf = m.weights.embedding.data.buffer;
    for (const l of m.weights.layers) for (const k of MATRICES) assert.equal(l[k].data.buffer, buf);
  });
});

describe('Paddle ERNIE', () => {
  it('decodes to the PT weights rounded to bf16', () => {
    const pt = loadModel(modelPath('synthetic/ernie4_5'));
    const pd = loadModel(modelPath('synthetic/ernie4_5-paddle'));
    const bf16 = (a: Float32Array) => a.map(roundToBf16);
    const check = (a: WeightMatrix, b: WeightMatrix, what: string) => {
      assert.equal(b.type, GgmlType.BF16, what);
      assert.deepEqual([b.rows, b.cols], [a.rows, a.cols], what);
      for (let r = 0; r < a.rows; r++) assert.deepEqual(row(b, r), bf16(row(a, r)), `${what} row ${r}`);
    };
    check(pt.weights.embedding, pd.weights.embedding, 'embedding');
    assert.equal(pd.weights.lmHead, pd.weights.embedding);
    assert.deepEqual(pd.weights.finalNorm, bf16(pt.weights.finalNorm));
    pt.weights.layers.forEach((l: LayerWeights, n) => {
      const p = pd.weights.layers[n];
      for (const k of MATRICES) check(l[k], p[k], `layer ${n} ${k}`);
      assert.deepEqual(p.attnNorm, bf16(l.attnNorm));
      assert.deepEqual(p.ffnNorm, bf16(l.ffnNorm));
    });
  });
});

describe('Paddle ERNIE variants', () => {
  const srcDir = modelPath('synthetic/ernie4_5-paddle/');
  const header = readSafetensorsHeader(`${srcDir}model.safetensors`);
  const bytes = readFileSync(`${srcDir}model.safetensors`);
  const tensor = (name: string) => {
    const t = header.tensors.get(name)!;
    return {
      shape: t.shape,
      data: new Uint16Array(bytes.buffer.slice(bytes.byteOffset + t.begin, bytes.byteOffset + t.end)),
    };
  };
  /** columns [c0, c0+n) of a row-major u16 [rows, cols] tensor, still [in, out] */
  const cols = (t: { shape: number[]; data: Uint16Array }, c0: number, n: number) => {
    const [r, c] = t.shape;
    const out = new Uint16Array(r * n);
    for (let i = 0; i < r; i++) out.set(t.data.subarray(i * c + c0, i * c + c0 + n), i * n);
    return new Uint8Array(out.buffer);
  };
  const transpose = (t: { shape: number[]; data: Uint16Array }) => {
    const [r, c] = t.shape;
    const out = new Uint16Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
    return new Uint8Array(out.buffer);
  };
  const reference = loadModel(srcDir);

  it('unfused q/k/v and gate/up projections load like the fused ones', () => {
    const dir = join(tmp, 'paddle-unfused');
    mkdirSync(dir);
    copyFileSync(`${srcDir}config.json`, join(dir, 'config.json'));
    const out: [string, string, number[], Uint8Array][] = [];
    for (const [name, t] of header.tensors) {
      const raw = tensor(name);
      if (name.endsWith('qkv_proj.weight')) {
        const p = name.replace('qkv_proj.weight', '');
        out.push([`${p}q_proj.weight`, 'U16', [64, 128], cols(raw, 0, 128)]);
        out.push([`${p}k_proj.weight`, 'U16', [64, 32], cols(raw, 128, 32)]);
        out.push([`${p}v_proj.weight`, 'U16', [64, 32], cols(raw, 160, 32)]);
      } else if (name.endsWith('up_gate_proj.weight')) {
        const p = name.replace('up_gate_proj.weight', '');
        out.push([`${p}gate_proj.weight`, 'U16', [64, 96], cols(raw, 0, 96)]);
        out.push([`${p}up_proj.weight`, 'U16', [64, 96], cols(raw, 96, 96)]);
      } else {
        out.push([name, t.dtype, t.shape, new Uint8Array(raw.data.buffer)]);
      }
    }
    writeSafetensors(join(dir, 'model.safetensors'), out);
    const m = loadModel(dir);
    m.weights.layers.forEach((l, n) => {
      for (const k of MATRICES) sameBytes(l[k], reference.weights.layers[n][k], `layer ${n} ${k}`);
    });
  });

  it('an untied Paddle lm_head [H, V] is transposed to [V, H]', () => {
    const dir = join(tmp, 'paddle-untied');
    mkdirSync(dir);
    const config = JSON.parse(readFileSync(`${srcDir}config.json`, 'utf8'));
    config.tie_word_embeddings = false;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const out: [string, string, number[], Uint8Array][] = [...header.tensors].map(([name, t]) => [
      name,
      t.dtype,
      t.shape,
      new Uint8Array(tensor(name).data.buffer),
    ]);
    // use the embedding as the head, stored the Paddle way
    out.push(['lm_head.weight', 'U16', [64, 528], transpose(tensor('ernie.embed_tokens.weight'))]);
    writeSafetensors(join(dir, 'model.safetensors'), out);
    const m = loadModel(dir);
    assert.notEqual(m.weights.lmHead, m.weights.embedding);
    sameBytes(m.weights.lmHead, reference.weights.embedding, 'lmHead');
  });
});

describe('GGUF extras', () => {
  it('rope_freqs.weight divides the inverse frequencies (Llama 3)', () => {
    const path = join(tmp, 'ropefreqs.gguf');
    const divisors = [1, 1, 2, 4, 8, 16, 32, 32];
    writeTinyGguf(path, (_, tensors) => {
      tensors.push({ name: 'rope_freqs.weight', dims: [8], type: GgmlType.F32, data: f32Bytes(divisors) });
    });
    const m = loadModel(path);
    const plain = ropeInvFreq(10000, 16);
    assert.deepEqual(
      Array.from(m.spec.ropeInvFreq),
      Array.from(plain, (x, i) => Math.fround(x / divisors[i])),
    );
    assert.deepEqual(m.spec.eosTokenIds, [2, 5]); // eos + eot
    assert.equal(m.spec.tieWordEmbeddings, true);
  });

  it('accepts quantised matrices with the right byte sizes and F16 norms', () => {
    const path = join(tmp, 'quant.gguf');
    writeTinyGguf(path, (_, tensors) => {
      const set = (name: string, type: number, bytes: number) => {
        const t = tensors.find((x) => x.name === name)!;
        t.type = type;
        t.data = new Uint8Array(bytes);
      };
      set('blk.0.ffn_gate.weight', GgmlType.Q8_0, 64 * 34); // 64 rows × (32/32 blocks × 34 B)
      set('blk.0.ffn_up.weight', GgmlType.Q4_0, 64 * 18);
      set('blk.0.ffn_down.weight', GgmlType.Q5_1, 32 * 2 * 24); // 32 rows of 64
      set('blk.0.attn_norm.weight', GgmlType.F16, 64);
      const norm = tensors.find((x) => x.name === 'blk.0.attn_norm.weight')!;
      norm.data = new Uint8Array(new Uint16Array(32).fill(0x3c00).buffer); // f16 1.0
    });
    const m = loadModel(path);
    const l = m.weights.layers[0];
    assert.equal(l.wGate.type, GgmlType.Q8_0);
    assert.equal(l.wGate.data.byteLength, 64 * 34);
    assert.equal(l.wUp.data.byteLength, 64 * 18);
    assert.equal(l.wDown.data.byteLength, 32 * 48);
    assert.deepEqual(l.attnNorm, new Float32Array(32).fill(1));
  });
});
