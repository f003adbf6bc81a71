// The server on a real socket: the OpenAI SDK as a client, and client disconnects aborting engine work.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { type Fixture, MAX_MODEL_LEN, startFixture } from './helpers.ts';

const PROMPT = 'Once upon a time, there was a little girl named Lily.';

let fx: Fixture;
let port: number;
let client: OpenAI;
before(async () => {
  fx = await startFixture();
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (fx.app.server.address() as AddressInfo).port;
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0 });
});
after(() => fx.close());

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('OpenAI SDK against the server', () => {
  it('chat.completions.create (non-stream and stream)', async () => {
    const messages = [{ role: 'user' as const, content: PROMPT }];
    const r = await client.chat.completions.create({ model: 'stories', messages, max_tokens: 8, temperature: 0 });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.usage?.completion_tokens, 8);
    const s = await client.chat.completions.create({
      model: 'stories',
      messages,
      max_tokens: 8,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of s) {
      content += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(content, r.choices[0].message.content);
    assert.equal(usage?.total_tokens, r.usage?.total_tokens);
  });

  it('completions.create', async () => {
    const r = await client.completions.create({ model: 'stories', prompt: PROMPT, max_tokens: 5, temperature: 0 });
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage?.completion_tokens, 5);
  });

  it('errors map to the SDK error classes', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found',
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'x' }], top_p: 1.5 }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'top_p' && e.type === 'invalid_request_error',
    );
  });
});

describe('client disconnect aborts the engine request', () => {
  /** POSTs a request and destroys the connection once `cut` says so; resolves when the socket is gone. */
  function postThenHangUp(path: string, body: object, cut: (data: string) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        let seen = '';
        res.on('data', (d) => {
          seen += d;
          if (cut(seen)) req.destroy();
        });
        res.on('error', () => {});
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
      req.end(JSON.stringify(body));
    });
  }

  it('streaming: closing the connection after the first events aborts generation', async () => {
    const before = fx.engine.requests.length;
    await postThenHangUp(
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: PROMPT }], stream: true, ignore_eos: true, max_tokens: 200 },
      (seen) => seen.split('\n\n').length > 3,
    );
    const rec = fx.engine.requests[before];
    await waitFor(() => rec.done, 'the engine request to end');
    assert.ok(rec.signal?.aborted, 'signal aborted');
    assert.ok(rec.outputs < 200, `generation stopped early (${rec.outputs} outputs)`);
  });

  it('non-stream: closing the connection while generating aborts generation', async () => {
    const before = fx.engine.requests.length;
    const body = { prompt: PROMPT, ignore_eos: true, n: 4, temperature: 1 };
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/v1/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    req.on('error', () => {});
    req.end(JSON.stringify(body));
    await waitFor(() => fx.engine.requests.length > before && fx.engine.requests[before].outputs > 0, 'first output');
    req.destroy();
    const recs = fx.engine.requests.slice(before);
    await waitFor(() => recs.every((r) => r.done), 'the engine requests to end');
    assert.equal(recs.length, 4);
    assert.ok(
      recs.every((r) => r.signal?.aborted),
      'every choice was aborted',
    );
    const window = MAX_MODEL_LEN - fx.tokenizer.encode(PROMPT).length;
    assert.ok(
      recs.every((r) => r.outputs < window),
      'no choice ran to the end of the window',
    );
  });
});
