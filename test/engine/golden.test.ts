/**
 * The engine alone (worker thread, real kernels) against the reference goldens, compared by token id:
 * greedy ids exact, every listed top logprob within 1e-4, for each checkpoint layout (f32 KV cache);
 * with the default f16 KV cache the same ids and logprobs within 5e-2.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type AsyncEngine, startEngine } from '../../src/engine/client.ts';
import type { EngineOutput } from '../../src/engine/types.ts';
import { SHARED_MODELS, STORIES_GGUF, STORIES_HF, SYNTHETIC } from '../helpers/models.ts';

interface GoldenGeneration {
  prompt_ids: number[];
  completion_ids: number[];
  top_logprobs: { id: number; logprob: number }[][];
}

const cases: { model: string; golden: string; vocabLimit?: number }[] = [
  { model: STORIES_HF, golden: `${SHARED_MODELS}stories260K/golden.json` },
  { model: STORIES_GGUF, golden: `${SHARED_MODELS}stories260K/golden.json` },
  { model: SYNTHETIC('llama'), golden: `${SYNTHETIC('llama')}/golden.json` },
  { model: `${SYNTHETIC('llama')}/llama.gguf`, golden: `${SYNTHETIC('llama')}/golden.json` },
  { model: SYNTHETIC('qwen2'), golden: `${SYNTHETIC('qwen2')}/golden.json` },
  { model: `${SYNTHETIC('qwen2')}/qwen2.gguf`, golden: `${SYNTHETIC('qwen2')}/golden.json` },
  { model: SYNTHETIC('qwen3'), golden: `${SYNTHETIC('qwen3')}/golden.json` },
  { model: `${SYNTHETIC('qwen3')}/qwen3.gguf`, golden: `${SYNTHETIC('qwen3')}/golden.json` },
  // ERNIE's 16 padding rows (ids 512…527) are masked by passing the tokenizer's size.
  { model: SYNTHETIC('ernie4_5'), golden: `${SYNTHETIC('ernie4_5')}/golden.json`, vocabLimit: 512 },
  { model: `${SYNTHETIC('ernie4_5')}/ernie4_5.gguf`, golden: `${SYNTHETIC('ernie4_5')}/golden.json`, vocabLimit: 512 },
  {
    model: `${SYNTHETIC('ernie4_5')}/ernie4_5.llama-arch.gguf`,
    golden: `${SYNTHETIC('ernie4_5')}/golden.json`,
    vocabLimit: 512,
  },
  { model: SYNTHETIC('ernie4_5-paddle'), golden: `${SYNTHETIC('ernie4_5-paddle')}/golden.json`, vocabLimit: 512 },
];

export async function collect(engine: AsyncEngine, id: string, promptIds: number[], maxTokens: number, logprobs: number | null) {
  const outs: EngineOutput[] = [];
  for await (const o of engine.generate({
    id,
    promptIds,
    sampling: { temperature: 0, topP: 1, topK: 0, maxTokens, stopTokenIds: [], logprobs },
  })) {
    outs.push(o);
  }
  return {
    ids: outs.flatMap((o) => o.tokenIds),
    logprobs: outs.flatMap((o) => o.logprobs ?? []),
    finishReason: outs.at(-1)?.finishReason,
  };
}

for (const c of cases) {
  describe(`engine goldens: ${c.model.replace(SHARED_MODELS, '')}`, () => {
    const golden = JSON.parse(readFileSync(c.golden, 'utf8')) as { generation: GoldenGeneration[] };
    let engine: AsyncEngine;
    before(async () => {
      engine = await startEngine({ modelPath: c.model, vocabLimit: c.vocabLimit, kvCacheDtype: 'f32' });
    });
    after(() => engine.close());

    it('reproduces every greedy continuation and its top logprobs', async () => {
      for (const [i, g] of golden.generation.entries()) {
        const k = g.top_logprobs[0].length;
        const r = await collect(engine, `g${i}`, g.prompt_ids, g.completion_ids.length, k);
        assert.deepEqual(r.ids, g.completion_ids, `prompt ${i}`);
        assert.equal(r.finishReason, 'length');
        for (const [pos, want] of g.top_logprobs.entries()) {
          const got = r.logprobs[pos].top;
          assert.equal(got.length, k);
          for (const w of want) {
            const match = got.find((x) => x.id === w.id);
            assert.ok(match, `prompt ${i} position ${pos}: id ${w.id} not in the top ${k}`);
            assert.ok(Math.abs(match.logprob - w.logprob) < 1e-4, `prompt ${i} position ${pos} id ${w.id}: ${match.logprob} vs ${w.logprob}`);
          }
        }
      }
    });

    it('gives the same tokens for concurrent requests as for each alone', async () => {
      const prompts = golden.generation.map((g) => g.prompt_ids);
      const alone = [];
      for (const [i, p] of prompts.entries()) alone.push((await collect(engine, `a${i}`, p, 24, null)).ids);
      const together = await Promise.all(prompts.map((p, i) => collect(engine, `t${i}`, p, 24, null)));
      assert.deepEqual(
        together.map((r) => r.ids),
        alone,
      );
    });
  });
}

describe('engine goldens with an f16 KV cache: stories260K', () => {
  const golden = JSON.parse(readFileSync(`${SHARED_MODELS}stories260K/golden.json`, 'utf8')) as {
    generation: GoldenGeneration[];
  };
  for (const model of [STORIES_HF, STORIES_GGUF]) {
    it(`same greedy ids, top logprobs within 5e-2 (${model.replace(SHARED_MODELS, '')})`, async () => {
      const engine = await startEngine({ modelPath: model });
      try {
        for (const [i, g] of golden.generation.entries()) {
          const k = g.top_logprobs[0].length;
          const r = await collect(engine, `f16-${i}`, g.prompt_ids, g.completion_ids.length, k);
          assert.deepEqual(r.ids, g.completion_ids, `prompt ${i}`);
          for (const [pos, want] of g.top_logprobs.entries()) {
            for (const w of want) {
              const match = r.logprobs[pos].top.find((x) => x.id === w.id);
              if (!match) continue; // a near-tie may swap the last listed entries
              assert.ok(Math.abs(match.logprob - w.logprob) < 5e-2, `prompt ${i} position ${pos} id ${w.id}`);
            }
            const top = r.logprobs[pos].top[0];
            assert.ok(Math.abs(top.logprob - want[0].logprob) < 5e-2, `prompt ${i} position ${pos} top logprob`);
          }
        }
      } finally {
        await engine.close();
      }
    });
  }
});
