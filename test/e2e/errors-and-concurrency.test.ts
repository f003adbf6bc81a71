/**
 * Acceptance: bad requests get 400 OpenAI error bodies and the server keeps serving; concurrent
 * greedy requests return exactly what each returns alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STORIES_HF } from '../helpers/models.ts';
import { postJson, type RunningServer, startServer } from '../helpers/server.ts';

const PROMPTS = [
  'Once upon a time',
  'The little dog',
  'Lily',
  'Tom and Sue went to the park.',
  'The sun was shining',
  'A big red ball',
  'She was very happy',
  'One day, a cat',
];

function assertOpenAiError(json: { error?: Record<string, unknown> }, param?: string): void {
  assert.ok(json.error, `no error object in ${JSON.stringify(json)}`);
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(json.error.type, 'invalid_request_error');
  assert.equal(typeof json.error.message, 'string');
  if (param) assert.equal(json.error.param, param);
}

describe('bad input and concurrency', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(['--model', STORIES_HF]);
  });
  after(() => server.stop());

  const valid = { messages: [{ role: 'user', content: 'Lily' }], max_tokens: 4, temperature: 0 };

  for (const [name, body, param] of [
    ['malformed JSON', '{"messages": [', undefined],
    ['"temperature": "hot"', { ...valid, temperature: 'hot' }, 'temperature'],
    ['"top_p": 1.5', { ...valid, top_p: 1.5 }, 'top_p'],
    ['no messages', { max_tokens: 4 }, 'messages'],
  ] as const) {
    it(`${name} → 400, then a valid request succeeds`, async () => {
      const bad = await postJson(`${server.url}/v1/chat/completions`, body);
      assert.equal(bad.status, 400);
      assertOpenAiError(bad.json, param);
      const ok = await postJson(`${server.url}/v1/chat/completions`, valid);
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.equal(ok.json.choices[0].message.role, 'assistant');
    });
  }

  it('8 concurrent requests return the same tokens as each alone', async () => {
    const ask = async (prompt: string) => {
      const r = await postJson(`${server.url}/v1/completions`, {
        prompt,
        max_tokens: 32,
        temperature: 0,
        return_token_ids: true,
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return r.json.choices[0].completion_token_ids as number[];
    };
    const alone: number[][] = [];
    for (const p of PROMPTS) alone.push(await ask(p));
    const together = await Promise.all(PROMPTS.map(ask));
    assert.deepEqual(together, alone);
    assert.equal(new Set(alone.map((x) => x.join())).size, PROMPTS.length, 'prompts should differ in output');
  });
});
