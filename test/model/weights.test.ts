/**
 * Weight layout tests: the same model in different files must give the same numbers once the
 * documented layout differences are accounted for (models.md §2.4 permutation, §1.10 Paddle).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ropeInvFreq } from '../../src/model/hf-config.ts';
import { loadModel } from '../../src/model/load.ts';
import type { LayerWeights, LoadedModel } from '../../src/model/types.ts';
import { GgmlType, type WeightMatrix } from '../../src/native/types.ts';
import { f32Bytes } from './gguf-writer.ts';
import { roundToBf16, row, rows, writeTinyGguf } from './helpers.ts';
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
