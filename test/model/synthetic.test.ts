/**
 * The synthetic-model generator on its small shapes: every format is written, read back by the
 * project's own readers/loaders, and checked against the F32 values (exact for F32/BF16, within
 * the block error for Q8_0/Q4_0), the tokenizer against stories260K's, and the engine's forward
 * pass for equal logits across formats.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KvCache } from '../../src/engine/kv-cache.ts';
import { Transformer } from '../../src/model/forward.ts';
import { readGguf } from '../../src/model/gguf.ts';
import { loadModel } from '../../src/model/load.ts';
import { readSafetensorsHeader } from '../../src/model/safetensors.ts';
import { makeSyntheticModel, OUTPUT_FORMATS, parameterCount, SHAPES } from '../../src/model/synthetic.ts';
import { permuteHeadRows } from '../../src/model/synthetic/plan.ts';
import { TensorRandom } from '../../src/model/synthetic/random.ts';
import type { LoadedModel, ModelSpec } from '../../src/model/types.ts';
import { native } from '../../src/native/index.ts';
import { dequantizeRow, encodeBF16 } from '../../src/native/reference.ts';
import { GgmlType, type WeightMatrix } from '../../src/native/types.ts';
import { loadGgufTokenizer, loadHfTokenizer } from '../../src/text/load.ts';
import { STORIES_HF } from '../helpers/models.ts';

const tmp = mkdtempSync(join(tmpdir(), 'tsdeploy-synthetic-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const TINY = join(tmp, 'tiny');
const TINY_BF16 = join(tmp, 'tiny-bf16');
const LLAMA = join(tmp, 'llama-tiny');
const gguf = (dir: string, shape: string, type: string) => join(dir, `${shape}.${type}.gguf`);
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Every matrix of a model, with a name, in a fixed order. */
function matrices(m: LoadedModel): [string, WeightMatrix][] {
  const out: [string, WeightMatrix][] = [['embedding', m.weights.embedding]];
  m.weights.layers.forEach((l, i) => {
    for (const k of ['wq', 'wk', 'wv', 'wo', 'wGate', 'wUp', 'wDown'] as const) out.push([`${i}.${k}`, l[k]]);
  });
  if (!m.spec.tieWordEmbeddings) out.push(['lmHead', m.weights.lmHead]);
  return out;
}

function norms(m: LoadedModel): Float32Array[] {
  return [...m.weights.layers.flatMap((l) => [l.attnNorm, l.ffnNorm]), m.weights.finalNorm];
}

/** The spec fields that describe the network (architecture names differ: GGUF says `llama`). */
function dims(s: ModelSpec) {
  const { architecture: _, ...rest } = s;
  return rest;
}

/** Logits of every position of one prompt through the engine's forward pass. */
function logits(m: LoadedModel, ids: number[]): Float32Array {
  const T = ids.length;
  const blockSize = 16;
  const blocks = Math.ceil(T / blockSize);
  const kv = new KvCache(m.spec.numLayers, m.spec.numKvHeads * m.spec.headDim, blockSize, blocks);
  const positions = Int32Array.from(ids.keys());
  return new Transformer(m, native).forward(
    {
      tokens: Int32Array.from(ids),
      positions,
      tokenSeq: new Int32Array(T),
      slots: positions,
      blockTables: Int32Array.from({ length: blocks }, (_, i) => i),
      maxBlocksPerSeq: blocks,
      logitRows: positions,
    },
    kv,
  );
}

const PROMPT = [1, 403, 407, 261, 378, 300, 269, 428, 352, 270, 334];

before(() => {
  makeSyntheticModel({ shape: 'tiny', outDir: TINY, formats: OUTPUT_FORMATS, dtype: 'f32', seed: 7 });
  makeSyntheticModel({ shape: 'tiny', outDir: TINY_BF16, formats: ['hf'], dtype: 'bf16', seed: 7 });
  makeSyntheticModel({ shape: 'llama-tiny', outDir: LLAMA, formats: ['hf', 'gguf-f32'], dtype: 'f32', seed: 3 });
});

describe('synthetic shapes', () => {
  it('ernie-0.3b has ERNIE-4.5-0.3B dimensions (≈360.7 M parameters)', () => {
    const s = SHAPES['ernie-0.3b'];
    assert.equal(parameterCount(s), 360_748_032);
    assert.deepEqual(
      [s.hiddenSize, s.numLayers, s.numHeads, s.headDim, s.numKvHeads, s.intermediateSize, s.vocabSize],
      [1024, 18, 16, 128, 2, 3072, 103424],
    );
  });

  it('the random stream is chunk-independent, seeded, and scaled', () => {
    const init = { kind: 'normal', std: 0.02 } as const;
    const whole = new Float32Array(4096);
    new TensorRandom(5, 'w').fill(whole, 0, init);
    const part = new Float32Array(1000);
    new TensorRandom(5, 'w').fill(part, 2000, init);
    assert.deepEqual(part, whole.subarray(2000, 3000));
    const other = new Float32Array(4096);
    new TensorRandom(6, 'w').fill(other, 0, init);
    assert.notDeepEqual(other, whole);
    const mean = whole.reduce((a, b) => a + b, 0) / whole.length;
    const std = Math.sqrt(whole.reduce((a, b) => a + (b - mean) ** 2, 0) / whole.length);
    assert.ok(Math.abs(mean) < 0.002 && Math.abs(std - 0.02) < 0.001, `mean ${mean} std ${std}`);
    const u = new Float32Array(4096);
    new TensorRandom(5, 'n').fill(u, 3, { kind: 'uniform', min: 0.9, max: 1.1 });
    assert.ok(u.every((x) => x >= 0.9 && x <= 1.1));
  });

  it('permuteHeadRows maps HF half-split rows to adjacent pairs within each head', () => {
    // 2 heads of 4 rows, 1 column: HF rows [0 1 2 3 | 4 5 6 7] → GGUF [0 2 1 3 | 4 6 5 7]
    const dst = new Float32Array(8);
    permuteHeadRows(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), dst, 1, 4);
    assert.deepEqual([...dst], [0, 2, 1, 3, 4, 6, 5, 7]);
  });
});

describe('makeSyntheticModel (tiny)', () => {
  it('writes the HF directory: config, safetensors, tokenizer files', () => {
    const hf = join(TINY, 'hf');
    const config = JSON.parse(readFileSync(join(hf, 'config.json'), 'utf8'));
    assert.deepEqual(config.architectures, ['Ernie4_5ForCausalLM']);
    assert.equal(config.model_type, 'ernie4_5');
    assert.equal(config.head_dim, 32);
    assert.equal(config.vocab_size, 600);
    assert.equal(config.tie_word_embeddings, true);
    assert.equal(config.torch_dtype, 'float32');
    assert.equal(config.pad_token_id, 0);
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      assert.equal(sha(join(hf, f)), sha(join(STORIES_HF, f)), f);

    const st = readSafetensorsHeader(join(hf, 'model.safetensors'));
    assert.equal(st.tensors.size, 1 + 2 * 9 + 1);
    assert.deepEqual(st.tensors.get('model.embed_tokens.weight')?.shape, [600, 64]);
    assert.deepEqual(st.tensors.get('model.layers.1.self_attn.q_proj.weight')?.shape, [128, 64]);
    assert.deepEqual(st.tensors.get('model.layers.1.self_attn.k_proj.weight')?.shape, [64, 64]);
    assert.deepEqual(st.tensors.get('model.layers.0.mlp.down_proj.weight')?.shape, [64, 128]);
    assert.ok(!st.tensors.has('lm_head.weight'));
    assert.ok([...st.tensors.values()].every((t) => t.dtype === 'F32'));
    const bf = readSafetensorsHeader(join(TINY_BF16, 'hf', 'model.safetensors'));
    assert.ok([...bf.tensors.values()].every((t) => t.dtype === 'BF16'));
    assert.equal(JSON.parse(readFileSync(join(TINY_BF16, 'hf', 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
  });

  it('writes llama-arch GGUFs with llama.* keys, padded tokenizer and per-format tensor types', () => {
    const types: Record<string, GgmlType> = {
      f32: GgmlType.F32,
      bf16: GgmlType.BF16,
      q8_0: GgmlType.Q8_0,
      q4_0: GgmlType.Q4_0,
    };
    for (const [name, type] of Object.entries(types)) {
      const g = readGguf(gguf(TINY, 'tiny', name));
      const md = g.metadata;
      assert.equal(md.get('general.architecture'), 'llama');
      assert.equal(md.get('llama.embedding_length'), 64);
      assert.equal(md.get('llama.block_count'), 2);
      assert.equal(md.get('llama.attention.head_count'), 4);
      assert.equal(md.get('llama.attention.head_count_kv'), 2);
      assert.equal(md.get('llama.attention.key_length'), 32);
      assert.equal(md.get('llama.attention.value_length'), 32);
      assert.equal(md.get('llama.rope.dimension_count'), 32);
      assert.equal(md.get('llama.rope.freq_base'), 500000);
      assert.equal(md.get('llama.attention.layer_norm_rms_epsilon'), Math.fround(1e-5));
      assert.equal(md.get('llama.vocab_size'), 600);
      assert.equal(md.get('tokenizer.ggml.add_bos_token'), true);
      assert.equal(md.get('tokenizer.ggml.padding_token_id'), 0);
      const tokens = md.get('tokenizer.ggml.tokens') as string[];
      const ttypes = md.get('tokenizer.ggml.token_type') as number[];
      const scores = md.get('tokenizer.ggml.scores') as number[];
      assert.equal(tokens.length, 600);
      assert.deepEqual(tokens.slice(510, 514), [tokens[510], tokens[511], '[PAD512]', '[PAD513]']);
      assert.deepEqual([ttypes[511], ttypes[512], ttypes[599], scores[599]], [1, 5, 5, -10000]);

      assert.equal(g.tensors.length, 2 + 2 * 9);
      assert.ok(!g.tensors.some((t) => t.name === 'output.weight'), 'tied: no output.weight');
      for (const t of g.tensors) assert.equal(t.type, t.dims.length === 1 ? GgmlType.F32 : type, `${name} ${t.name}`);
      const byName = new Map(g.tensors.map((t) => [t.name, t]));
      assert.deepEqual(byName.get('token_embd.weight')?.dims, [64, 600]);
      assert.deepEqual(byName.get('blk.0.attn_q.weight')?.dims, [64, 128]);
      assert.deepEqual(byName.get('blk.0.ffn_down.weight')?.dims, [128, 64]);
    }
  });

  it('GGUF F32 and HF F32 load to the same spec and the same weights', () => {
    const hf = loadModel(join(TINY, 'hf'));
    const gg = loadModel(gguf(TINY, 'tiny', 'f32'));
    assert.equal(hf.spec.architecture, 'ernie4_5');
    assert.equal(gg.spec.architecture, 'llama');
    assert.deepEqual(dims(gg.spec), dims(hf.spec));
    assert.deepEqual(norms(gg), norms(hf));
    const a = matrices(hf);
    const b = matrices(gg);
    assert.equal(a.length, b.length);
    for (const [i, [name, w]] of a.entries()) {
      assert.deepEqual([b[i][1].type, b[i][1].rows, b[i][1].cols], [w.type, w.rows, w.cols], name);
      assert.ok(Buffer.from(b[i][1].data).equals(Buffer.from(w.data)), name);
    }
    for (const x of norms(hf)) assert.ok(x.every((v) => v >= 0.9 && v <= 1.1));
  });

  it('BF16 (GGUF and HF) holds the F32 values rounded to bf16', () => {
    const f32 = matrices(loadModel(join(TINY, 'hf')));
    const hf = matrices(loadModel(join(TINY_BF16, 'hf')));
    const gg = matrices(loadModel(gguf(TINY, 'tiny', 'bf16')));
    for (const [i, [name, w]] of f32.entries()) {
      const expect = Buffer.from(encodeBF16(new Float32Array(w.data.buffer, w.data.byteOffset, w.rows * w.cols)));
      assert.equal(hf[i][1].type, GgmlType.BF16);
      assert.ok(Buffer.from(hf[i][1].data).equals(expect), `hf ${name}`);
      assert.ok(Buffer.from(gg[i][1].data).equals(expect), `gguf ${name}`);
    }
  });

  for (const [name, type, maxStep] of [
    ['q8_0', GgmlType.Q8_0, 1 / 127],
    ['q4_0', GgmlType.Q4_0, 1 / 8],
  ] as const) {
    it(`${name.toUpperCase()} tensors dequantise to within the format's error of the F32 values`, () => {
      const f32 = matrices(loadModel(join(TINY, 'hf')));
      const q = matrices(loadModel(gguf(TINY, 'tiny', name)));
      let sq = 0;
      let sqErr = 0;
      for (const [i, [tname, w]] of f32.entries()) {
        assert.equal(q[i][1].type, type, tname);
        for (let r = 0; r < w.rows; r++) {
          const want = dequantizeRow(w, r);
          const got = dequantizeRow(q[i][1], r);
          for (let b = 0; b < w.cols; b += 32) {
            let amax = 0;
            for (let j = b; j < b + 32; j++) amax = Math.max(amax, Math.abs(want[j]));
            // one quantisation step (amax/127 or amax/8) plus the f16 rounding of the scale
            const bound = amax * maxStep * (1 + 2 ** -10) + 1e-9;
            for (let j = b; j < b + 32; j++) {
              const err = Math.abs(got[j] - want[j]);
              assert.ok(err <= bound, `${name} ${tname} row ${r} col ${j}: |${got[j]} − ${want[j]}| > ${bound}`);
              sq += want[j] ** 2;
              sqErr += err ** 2;
            }
          }
        }
      }
      // typical relative error: ~0.5% (Q8_0), ~10% (Q4_0) on Gaussian weights
      const rel = Math.sqrt(sqErr / sq);
      assert.ok(rel < (type === GgmlType.Q8_0 ? 0.01 : 0.15), `relative RMS error ${rel}`);
    });
  }

  it('the tokenizer loads from both outputs and encodes like stories260K', () => {
    const text = 'Once upon a time';
    const expect = loadHfTokenizer(STORIES_HF).encode(text);
    assert.deepEqual(expect.slice(0, 1), [1]);
    const hfTok = loadHfTokenizer(join(TINY, 'hf'));
    assert.deepEqual(hfTok.encode(text), expect);
    for (const name of ['f32', 'q4_0']) {
      const tok = loadGgufTokenizer(readGguf(gguf(TINY, 'tiny', name)).metadata);
      assert.deepEqual(tok.encode(text), expect, name);
      // the [PAD] fillers are not part of the tokenizer
      assert.equal(tok.vocabSize, 512);
      assert.equal(tok.decode(expect), text);
    }
  });

  it('HF F32 and GGUF F32 give identical logits through the engine; Q8_0 stays close', () => {
    const hf = logits(loadModel(join(TINY, 'hf')), PROMPT);
    const f32 = logits(loadModel(gguf(TINY, 'tiny', 'f32')), PROMPT);
    assert.equal(hf.length, PROMPT.length * 600);
    assert.ok(hf.every(Number.isFinite));
    assert.deepEqual(f32, hf);
    const q8 = logits(loadModel(gguf(TINY, 'tiny', 'q8_0')), PROMPT);
    const maxDiff = q8.reduce((m, v, i) => Math.max(m, Math.abs(v - hf[i])), 0);
    const maxAbs = hf.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(maxDiff < 0.05 * maxAbs, `Q8_0 logits differ by ${maxDiff} (max |logit| ${maxAbs})`);
  });
});

describe('makeSyntheticModel (llama-tiny)', () => {
  it('permutes q/k for the GGUF so interleaved rope on it equals half-split rope on HF', () => {
    const hf = loadModel(join(LLAMA, 'hf'));
    const gg = loadModel(gguf(LLAMA, 'llama-tiny', 'f32'));
    assert.equal(hf.spec.tieWordEmbeddings, false);
    assert.equal(gg.spec.tieWordEmbeddings, false);
    assert.ok(readGguf(gguf(LLAMA, 'llama-tiny', 'f32')).tensors.some((t) => t.name === 'output.weight'));
    assert.ok(!Buffer.from(gg.weights.layers[0].wq.data).equals(Buffer.from(hf.weights.layers[0].wq.data)));
    assert.ok(Buffer.from(gg.weights.layers[0].wv.data).equals(Buffer.from(hf.weights.layers[0].wv.data)));
    const a = logits(hf, PROMPT);
    const b = logits(gg, PROMPT);
    const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    assert.ok(maxDiff < 1e-4, `max |Δlogit| ${maxDiff}`);
  });
});

describe('makeSyntheticModel stamps', () => {
  it('skips current outputs, rewrites on --force or changed parameters, same bytes for the same seed', () => {
    const dir = join(tmp, 'stamps');
    const make = (seed: number, force = false) =>
      makeSyntheticModel({ shape: 'tiny', outDir: dir, formats: ['gguf-q4_0', 'hf'], seed, force }).outputs.map(
        (o) => o.status,
      );
    assert.deepEqual(make(1), ['written', 'written']);
    const first = sha(gguf(dir, 'tiny', 'q4_0'));
    assert.deepEqual(make(1), ['skipped', 'skipped']);
    assert.deepEqual(make(1, true), ['written', 'written']);
    assert.equal(sha(gguf(dir, 'tiny', 'q4_0')), first);
    assert.deepEqual(make(2), ['written', 'written']);
    assert.notEqual(sha(gguf(dir, 'tiny', 'q4_0')), first);
    // a file changed behind the stamp's back is regenerated
    rmSync(join(dir, 'hf', 'model.safetensors'));
    assert.deepEqual(make(2), ['skipped', 'written']);
  });
});
