/** Prefix caching seen from the API: cached_tokens reports hits, and switching caching off reports none. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STORIES_HF } from '../helpers/models.ts';
import { postJson, type RunningServer, startServer } from '../helpers/server.ts';

// 150 token ids of a shared "system prompt", then a distinct tail per request.
const SHARED = Array.from({ length: 150 }, (_, i) => 3 + ((i * 37) % 500));
const prompt = (tail: number) => [1, ...SHARED, 3 + tail, 4 + tail];

async function complete(url: string, ids: number[]) {
  const r = await postJson(`${url}/v1/completions`, { prompt: ids, max_tokens: 8, temperature: 0, return_token_ids: true });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
}

for (const caching of [true, false]) {
  describe(`shared prefixes with prefix caching ${caching ? 'on' : 'off'}`, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer([
        '--model',
        STORIES_HF,
        '--block-size',
        '16',
        caching ? '--enable-prefix-caching' : '--no-enable-prefix-caching',
      ]);
    });
    after(() => server.stop());

    it(caching ? 'later requests read the shared prefix from the cache' : 'nothing is reported cached', async () => {
      const first = await complete(server.url, prompt(0));
      assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
      const later = await Promise.all([1, 2, 3].map((t) => complete(server.url, prompt(t))));
      for (const r of later) {
        // 151 shared tokens (BOS + prefix) hold 9 full blocks of 16.
        assert.equal(r.usage.prompt_tokens_details.cached_tokens, caching ? 144 : 0);
      }
      // Same prompt again: identical tokens whether served from the cache or not.
      const again = await complete(server.url, prompt(0));
      assert.deepEqual(again.choices[0].completion_token_ids, first.choices[0].completion_token_ids);
      if (caching) assert.equal(again.usage.prompt_tokens_details.cached_tokens, 144);
    });
  });
}
