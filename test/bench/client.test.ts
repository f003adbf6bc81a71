/**
 * The request client against a scripted SSE server: timings come from chunk arrival, usage wins over
 * chunk counting, and every kind of failure is a failed request with its message.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildBody, type RequestSettings, sendRequest } from '../../src/bench/client.ts';

type Script = (res: import('node:http').ServerResponse) => Promise<void>;
const scripts = new Map<string, Script>();
const bodies: unknown[] = [];

const chunk = (text: string): string =>
  `data: ${JSON.stringify({ choices: [{ index: 0, text, finish_reason: null }] })}\n\n`;
const usage = (p: number, c: number): string =>
  `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: p, completion_tokens: c } })}\n\n`;

describe('bench request client', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        bodies.push(JSON.parse(body));
        const script = scripts.get(req.url ?? '');
        if (!script) {
          res.writeHead(404).end();
          return;
        }
        void script(res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const settings = (path: string, kind: 'completions' | 'chat' = 'completions'): RequestSettings => ({
    url: base + path,
    kind,
    model: 'm',
    ignoreEos: true,
    extraBody: { temperature: 0 },
    headers: {},
    timeoutMs: 10_000,
  });
  const request = { prompt: [5, 6, 7], promptLen: 3, outputLen: 3 };

  it('measures TTFT and ITL from chunk arrivals and takes token counts from usage', async () => {
    scripts.set('/timed', async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      await sleep(80);
      res.write(chunk('a'));
      await sleep(40);
      res.write(chunk('b'));
      await sleep(40);
      res.write(chunk('c') + usage(3, 3) + 'data: [DONE]\n\n');
      res.end();
    });
    const r = await sendRequest(settings('/timed'), request);
    assert.equal(r.success, true, r.error);
    assert.equal(r.generatedText, 'abc');
    assert.equal(r.outputTokens, 3);
    assert.equal(r.promptLen, 3);
    // Only bounds the server's sleeps guarantee whatever the machine load: a chunk cannot arrive before
    // it was sent, but a loaded client may read two chunks almost together.
    assert.ok(r.ttft >= 0.075, `ttft ${r.ttft}`);
    assert.ok(r.latency >= 0.155, `latency ${r.latency}`);
    assert.equal(r.itl.length, 2);
    for (const g of r.itl) assert.ok(g >= 0, `itl ${g}`);
    assert.ok(r.ttft + r.itl[0] + r.itl[1] <= r.latency + 1e-9, 'the gaps fit inside the latency');
    const sent = bodies.at(-1) as Record<string, unknown>;
    assert.deepEqual(sent.prompt, [5, 6, 7]);
    assert.equal(sent.max_tokens, 3);
    assert.equal(sent.min_tokens, 3);
    assert.equal(sent.ignore_eos, true);
    assert.equal(sent.stream, true);
    assert.deepEqual(sent.stream_options, { include_usage: true });
  });

  it('counts content chunks when the server reports no usage; skips the chat role preamble', async () => {
    scripts.set('/v1/chat/completions', async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const delta = (d: object): string => `data: ${JSON.stringify({ choices: [{ index: 0, delta: d }] })}\n\n`;
      res.write(delta({ role: 'assistant', content: '' }));
      await sleep(50);
      res.end(delta({ content: 'x' }) + delta({ content: 'y' }) + 'data: [DONE]\n\n');
    });
    const r = await sendRequest(settings('/v1/chat/completions', 'chat'), { ...request, prompt: 'hi' });
    assert.equal(r.success, true, r.error);
    assert.equal(r.outputTokens, 2);
    assert.equal(r.usageReported, false);
    assert.ok(r.ttft >= 0.045, `ttft ${r.ttft} counts the preamble`);
    assert.deepEqual((bodies.at(-1) as { messages: unknown }).messages, [{ role: 'user', content: 'hi' }]);
  });

  it('fails on HTTP errors, error events, truncated streams and network errors', async () => {
    scripts.set('/http', async (res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'prompt too long', type: 'invalid_request_error' } }));
    });
    scripts.set('/event', async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(chunk('a') + 'data: {"error":{"message":"engine died"}}\n\ndata: [DONE]\n\n');
    });
    scripts.set('/cut', async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(chunk('a'));
    });
    const http = await sendRequest(settings('/http'), request);
    assert.equal(http.success, false);
    assert.equal(http.error, 'HTTP 400: prompt too long');
    const event = await sendRequest(settings('/event'), request);
    assert.equal(event.success, false);
    assert.equal(event.error, 'engine died');
    const cut = await sendRequest(settings('/cut'), request);
    assert.equal(cut.success, false);
    assert.match(cut.error, /without \[DONE\]/);
    const net = await sendRequest({ ...settings('/x'), url: 'http://127.0.0.1:9/v1/completions' }, request);
    assert.equal(net.success, false);
    assert.match(net.error, /fetch failed/);
  });

  it('chat bodies need text prompts; extra body fields override', () => {
    assert.throws(() => buildBody(settings('/c', 'chat'), request), /text prompts/);
    const b = buildBody({ ...settings('/c'), extraBody: { temperature: 0.7, top_k: 5 } }, request);
    assert.equal(b.temperature, 0.7);
    assert.equal(b.top_k, 5);
  });
});
