/**
 * Acceptance: greedy /v1/completions through a real server reproduces the llama.cpp / float64
 * reference goldens exactly (token ids and text), and the reported top logprobs agree within 1e-4.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { SHARED_MODELS, STORIES_GGUF, STORIES_HF, SYNTHETIC } from '../helpers/models.ts';
import { postJson, type RunningServer, startServer } from '../helpers/server.ts';

interface GoldenGeneration {
  prompt: string;
  prompt_ids: number[];
  completion_ids: number[];
  completion_text?: string;
  top_logprobs: { id: number; token?: string; piece?: string; logprob: number }[][];
}

/** The text a golden alternative stands for, or null when it cannot be compared by text (byte pieces). */
function alternativeText(w: { token?: string; piece?: string }): string | null {
  if (w.token !== undefined) return w.token.includes('\uFFFD') ? null : w.token;
  if (w.piece === undefined || /^<0x[0-9A-F]{2}>$/.test(w.piece)) return null;
  return w.piece.replace(/\u2581/g, ' ');
}

const cases: { name: string; model: string; golden: string }[] = [
  { name: 'stories260K HF directory', model: STORIES_HF, golden: `${SHARED_MODELS}stories260K/golden.json` },
  { name: 'stories260K GGUF', model: STORIES_GGUF, golden: `${SHARED_MODELS}stories260K/golden.json` },
  { name: 'synthetic llama HF directory', model: SYNTHETIC('llama'), golden: `${SYNTHETIC('llama')}/golden.json` },
  { name: 'synthetic llama GGUF (permuted q/k)', model: `${SYNTHETIC('llama')}/llama.gguf`, golden: `${SYNTHETIC('llama')}/golden.json` },
];

for (const c of cases) {
  describe(`goldens: ${c.name}`, () => {
    const golden = JSON.parse(readFileSync(c.golden, 'utf8')) as { generation: GoldenGeneration[] };
    let server: RunningServer;
    before(async () => {
      server = await startServer(['--model', c.model, '--enable-logprob', '--kv-cache-dtype', 'f32']);
    });
    after(() => server.stop());

    for (const g of golden.generation) {
      it(`prompt ${JSON.stringify(g.prompt).slice(0, 40)}`, async () => {
        const k = g.top_logprobs[0].length;
        // The empty prompt of the synthetic goldens is the one-token prompt [BOS]: send it as ids.
        const prompt = g.prompt === '' ? g.prompt_ids : g.prompt;
        const { status, json } = await postJson(`${server.url}/v1/completions`, {
          model: 'any',
          prompt,
          max_tokens: g.completion_ids.length,
          temperature: 0,
          return_token_ids: true,
          logprobs: k,
        });
        assert.equal(status, 200, JSON.stringify(json));
        const choice = json.choices[0];
        assert.deepEqual(choice.prompt_token_ids, g.prompt_ids);
        assert.deepEqual(choice.completion_token_ids, g.completion_ids);
        if (g.completion_text !== undefined) assert.equal(choice.text, g.completion_text);
        assert.equal(choice.finish_reason, 'length');

        const lp = choice.logprobs;
        for (let pos = 0; pos < g.top_logprobs.length; pos++) {
          const want = g.top_logprobs[pos];
          // The sampled token's logprob is the golden top-1 (greedy).
          assert.ok(Math.abs(lp.token_logprobs[pos] - want[0].logprob) < 1e-4, `position ${pos} sampled logprob`);
          const got = lp.top_logprobs[pos] as Record<string, number>;
          for (const w of want) {
            const text = alternativeText(w);
            if (text === null) continue;
            // Completions' layout keys alternatives by token text; only compare unambiguous texts.
            if (want.filter((x) => alternativeText(x) === text).length > 1) continue;
            assert.ok(text in got, `position ${pos}: ${JSON.stringify(text)} missing from ${JSON.stringify(got)}`);
            assert.ok(Math.abs(got[text] - w.logprob) < 1e-4, `position ${pos} token ${JSON.stringify(text)}: ${got[text]} vs ${w.logprob}`);
          }
        }
      });
    }
  });
}
