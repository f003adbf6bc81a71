/**
 * The HTTP event loop never runs model code or long tokenizations: while a 2,000-token prefill is in
 * progress, or a 400 KB prompt is being encoded, /health is answered first. (Ordering, not a time
 * threshold.)
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { STORIES_HF } from '../helpers/models.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';

describe('responsiveness during a long prefill', () => {
  let server: RunningServer;
  before(async () => {
    // stories260K was trained on 512 positions; a longer window is fine for this test (RoPE extrapolates).
    server = await startServer(['--model', STORIES_HF, '--max-model-len', '4096', '--max-num-batched-tokens', '2048']);
  });
  after(() => server.stop());

  it('/health is answered while the prefill runs', async () => {
    const prompt = [1, ...Array.from({ length: 1999 }, (_, i) => 3 + ((i * 7) % 500))];
    const events: string[] = [];
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, max_tokens: 2, temperature: 0, stream: true }),
    });
    assert.equal(res.status, 200);
    const firstToken = (async () => {
      const reader = res.body!.getReader();
      const { value } = await reader.read();
      events.push('token');
      assert.ok(value && value.length > 0);
      await reader.cancel();
    })();
    // The prefill has started once the engine reports the request running.
    for (let i = 0; i < 200; i++) {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      if (/^fastdeploy:num_requests_running(?:\{[^}]*\})? 1$/m.test(text) || events.length > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const health = await fetch(`${server.url}/health`);
    events.push(`health ${health.status}`);
    await firstToken;
    assert.deepEqual(events, ['health 200', 'token']);
  });
});

describe('responsiveness while a long prompt is tokenized', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(['--model', STORIES_HF, '--max-model-len', '512']);
  });
  after(() => server.stop());

  it('/health is answered while a 400 KB prompt is encoded (then rejected as too long)', async () => {
    // Tokenizing this text takes seconds (tokenizer.json, stories260K); the event loop must not wait for it.
    const prompt = 'Once upon a time, there was a little girl named Lily. She liked to play outside. '.repeat(5000);
    const body = JSON.stringify({ prompt, max_tokens: 2 });
    const url = new URL(`${server.url}/v1/completions`);
    const events: string[] = [];
    const completion = new Promise<number>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => {
            events.push('completion');
            resolve(res.statusCode ?? 0);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    // sequencing only: let the server receive the body and start encoding before asking for /health
    await new Promise((r) => setTimeout(r, 300));
    const health = await fetch(`${server.url}/health`);
    events.push(`health ${health.status}`);
    const status = await completion;
    assert.equal(status, 400); // 130,000 prompt tokens > --max-model-len 512
    assert.deepEqual(events, ['health 200', 'completion']);
  });
});
