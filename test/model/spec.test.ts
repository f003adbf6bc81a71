/** ModelSpec of every shared model, HF and GGUF, against the dimensions in the models' READMEs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ropeInvFreq, specFromHfConfig } from '../../src/model/hf-config.ts';
import { loadModel } from '../../src/model/load.ts';
import type { ModelSpec } from '../../src/model/types.ts';
import { RopePairing } from '../../src/native/types.ts';
import { modelPath } from './paths.ts';

type Expected = Omit<ModelSpec, 'ropeInvFreq'>;

const stories: Expected = {
  architecture: 'llama',
  hiddenSize: 64,
  numLayers: 5,
  numHeads: 8,
  numKvHeads: 4,
  headDim: 8,
  intermediateSize: 172,
  vocabSize: 512,
  maxPositionEmbeddings: 512,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropePairing: RopePairing.HalfSplit,
  tieWordEmbeddings: true,
  bosTokenId: 1,
  eosTokenIds: [2],
};
const synth = {
  numLayers: 2,
  hiddenSize: 64,
  intermediateSize: 96,
  maxPositionEmbeddings: 512,
  bosTokenId: 1,
  eosTokenIds: [2],
};
const llama: Expected = {
  ...synth,
  architecture: 'llama',
  numHeads: 4,
  numKvHeads: 2,
  headDim: 16,
  vocabSize: 512,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  ropePairing: RopePairing.HalfSplit,
  tieWordEmbeddings: false,
};
const qwen2: Expected = { ...llama, architecture: 'qwen2', rmsNormEps: 1e-6, ropeTheta: 1e6, tieWordEmbeddings: true };
const qwen3: Expected = { ...qwen2, architecture: 'qwen3', headDim: 32 };
const ernie: Expected = {
  ...synth,
  architecture: 'ernie4_5',
  numHeads: 4,
  numKvHeads: 1,
  headDim: 32,
  vocabSize: 528,
  rmsNormEps: 1e-5,
  ropeTheta: 500000,
  ropePairing: RopePairing.Interleaved,
  tieWordEmbeddings: true,
};

const cases: [string, Expected, 'hf' | 'gguf'][] = [
  ['stories260K/hf', stories, 'hf'],
  // GGUF llama weights carry the q/k permutation → interleaved; it stores an explicit output.weight
  [
    'stories260K/stories260K.gguf',
    { ...stories, ropePairing: RopePairing.Interleaved, tieWordEmbeddings: false },
    'gguf',
  ],
  ['synthetic/llama', llama, 'hf'],
  ['synthetic/llama/llama.gguf', { ...llama, ropePairing: RopePairing.Interleaved }, 'gguf'],
  ['synthetic/qwen2', qwen2, 'hf'],
  ['synthetic/qwen2/qwen2.gguf', qwen2, 'gguf'],
  ['synthetic/qwen3', qwen3, 'hf'],
  ['synthetic/qwen3/qwen3.gguf', qwen3, 'gguf'],
  ['synthetic/ernie4_5', ernie, 'hf'],
  ['synthetic/ernie4_5/ernie4_5.gguf', ernie, 'gguf'],
  ['synthetic/ernie4_5/ernie4_5.llama-arch.gguf', { ...ernie, architecture: 'llama' }, 'gguf'],
  ['synthetic/ernie4_5-paddle', ernie, 'hf'],
];

describe('ModelSpec of the shared models', () => {
  for (const [path, expected, format] of cases) {
    it(path, () => {
      const m = loadModel(modelPath(path));
      assert.equal(m.format, format);
      const { ropeInvFreq: inv, ...rest } = m.spec;
      assert.deepEqual(rest, expected);
      assert.deepEqual(inv, ropeInvFreq(expected.ropeTheta, expected.headDim));
      assert.equal(m.weights.layers.length, expected.numLayers);
      assert.equal(m.weights.embedding.rows, expected.vocabSize);
      assert.equal(m.weights.lmHead === m.weights.embedding, expected.tieWordEmbeddings);
      const l = m.weights.layers[1];
      assert.equal(l.wq.rows, expected.numHeads * expected.headDim);
      assert.equal(l.wk.rows, expected.numKvHeads * expected.headDim);
      assert.equal(l.wo.cols, expected.numHeads * expected.headDim);
      assert.equal(l.wDown.cols, expected.intermediateSize);
      assert.equal(l.bq !== undefined, expected.architecture === 'qwen2');
      assert.equal(l.qNorm?.length, expected.architecture === 'qwen3' ? expected.headDim : undefined);
    });
  }

  it('directory with exactly one .gguf loads it; HF files win when both exist', () => {
    assert.equal(loadModel(modelPath('synthetic/qwen2')).format, 'hf');
  });
});

describe('specFromHfConfig', () => {
  const base = {
    architectures: ['LlamaForCausalLM'],
    hidden_size: 2048,
    intermediate_size: 8192,
    num_hidden_layers: 16,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    vocab_size: 128256,
    max_position_embeddings: 131072,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
  };

  it('inverse frequencies are θ^(-2i/d) in float32', () => {
    const inv = ropeInvFreq(10000, 8);
    assert.deepEqual(Array.from(inv), [1, 0.1, 0.01, 0.001].map(Math.fround));
  });

  it('applies llama3 rope scaling (Llama-3.2 parameters)', () => {
    const scaling = {
      rope_type: 'llama3',
      factor: 32,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    };
    const spec = specFromHfConfig({ ...base, rope_scaling: scaling });
    const plain = ropeInvFreq(500000, 64);
    // reference in double precision
    for (let i = 0; i < 32; i++) {
      const wl = (2 * Math.PI) / plain[i];
      let want: number;
      if (wl < 8192 / 4) want = plain[i];
      else if (wl > 8192) want = plain[i] / 32;
      else {
        const s = (8192 / wl - 1) / 3;
        want = ((1 - s) * plain[i]) / 32 + s * plain[i];
      }
      assert.ok(Math.abs(spec.ropeInvFreq[i] - want) <= 1e-6 * want, `i=${i}: ${spec.ropeInvFreq[i]} vs ${want}`);
    }
    assert.equal(spec.ropeInvFreq[0], plain[0]); // high frequencies unchanged
    assert.equal(spec.ropeInvFreq[31], Math.fround(plain[31] / 32)); // low frequencies divided by the factor
    // the same parameters under rope_parameters (newer transformers)
    const { rope_theta: _, ...noTheta } = base;
    const spec2 = specFromHfConfig({ ...noTheta, rope_parameters: { ...scaling, rope_theta: 500000 } });
    assert.deepEqual(spec2.ropeInvFreq, spec.ropeInvFreq);
    assert.equal(spec2.ropeTheta, 500000);
  });

  it('reads eos lists, defaults and explicit head_dim', () => {
    const spec = specFromHfConfig(
      { ...base, eos_token_id: [128001, 128008, 128009], bos_token_id: 128000 },
      { eos_token_id: 128009 },
    );
    assert.deepEqual(spec.eosTokenIds, [128009, 128001, 128008]);
    assert.equal(spec.bosTokenId, 128000);
    assert.equal(spec.headDim, 64);
    assert.equal(spec.tieWordEmbeddings, false); // Llama default
    const ernie = specFromHfConfig({
      ...base,
      architectures: ['Ernie4_5ForCausalLM'],
      head_dim: 128,
      rope_theta: undefined,
    });
    assert.equal(ernie.headDim, 128);
    assert.equal(ernie.tieWordEmbeddings, true); // ERNIE default
    assert.equal(ernie.ropeTheta, 500000);
    assert.equal(ernie.ropePairing, RopePairing.Interleaved);
    const mistral = specFromHfConfig({ ...base, architectures: ['MistralForCausalLM'] });
    assert.equal(mistral.architecture, 'llama');
    assert.equal(specFromHfConfig({ ...base, architectures: undefined, model_type: 'qwen3' }).architecture, 'qwen3');
  });

  it('rejects unknown architectures and unsupported rope scaling', () => {
    assert.throws(
      () => specFromHfConfig({ ...base, architectures: ['GPT2LMHeadModel'] }),
      /unsupported architecture GPT2LMHeadModel \(supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, Ernie4_5ForCausalLM, Ernie4_5_ForCausalLM\)/,
    );
    assert.throws(
      () => specFromHfConfig({ ...base, rope_scaling: { type: 'yarn', factor: 4 } }),
      /rope scaling type "yarn" is not supported/,
    );
    assert.throws(() => specFromHfConfig({ ...base, hidden_size: undefined }), /hidden_size is missing/);
  });
});
