/**
 * Many concurrent streams, some dropped mid-stream by the client: every request ends properly and
 * afterwards the engine holds no KV blocks (all blocks free; cached ones are evictable).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SseParser } from '../../src/bench/sse.ts';
import { STORIES_HF } from '../helpers/models.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';

async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(fastdeploy:[a-z_]+)(?:\{[^}]*\})? ([-0-9.e+]+)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

interface StreamResult {
  aborted: boolean;
  sawDone: boolean;
  finishReason?: string;
  tokens: number;
}

/** Streams a completion; if abortAfter is set, drops the connection after that many token chunks. */
async function stream(url: string, prompt: string, maxTokens: number, abortAfter?: number): Promise<StreamResult> {
  const ac = new AbortController();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0.8, seed: 1, stream: true }),
    signal: ac.signal,
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const sse = new SseParser();
  const result: StreamResult = { aborted: false, sawDone: false, tokens: 0 };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const data of sse.push(value)) {
        if (data === '[DONE]') result.sawDone = true;
        else {
          for (const c of JSON.parse(data).choices) {
            result.tokens++;
            if (c.finish_reason) result.finishReason = c.finish_reason;
          }
        }
      }
      if (abortAfter !== undefined && result.tokens >= abortAfter) {
        result.aborted = true;
        ac.abort();
        break;
      }
    }
  } catch (err) {
    if (!result.aborted) throw err;
  }
  return result;
}

describe('32 concurrent streams with client aborts', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(['--model', STORIES_HF, '--max-num-seqs', '16', '--block-size', '16']);
  });
  after(() => server.stop());

  it('all end correctly and no KV block stays owned', async () => {
    const jobs = Array.from({ length: 32 }, (_, i) => {
      const maxTokens = 8 + ((i * 13) % 57);
      const abortAfter = i % 4 === 1 ? 3 : undefined;
      return stream(server.url, `Story ${i}: once upon a time`, maxTokens, abortAfter).then((r) => ({ r, maxTokens, abortAfter }));
    });
    const results = await Promise.all(jobs);
    for (const { r, maxTokens, abortAfter } of results) {
      if (abortAfter !== undefined) {
        assert.ok(r.aborted);
        continue;
      }
      assert.ok(r.sawDone, 'stream ended without [DONE]');
      assert.ok(r.finishReason === 'length' || r.finishReason === 'stop');
      if (r.finishReason === 'length') assert.equal(r.tokens, maxTokens);
    }
    // Aborts are processed between engine steps; wait until the engine is idle.
    let m = await scrape(server.url);
    for (let i = 0; i < 100 && (m.get('fastdeploy:num_requests_running') ?? 1) > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      m = await scrape(server.url);
    }
    assert.equal(m.get('fastdeploy:num_requests_running'), 0);
    assert.equal(m.get('fastdeploy:num_requests_waiting'), 0);
    // Nothing is owned: every block is free, and the free ones not holding cached prefixes are
    // exactly the pool minus the cached blocks.
    const max = m.get('fastdeploy:max_gpu_block_num')!;
    assert.equal(m.get('fastdeploy:available_gpu_block_num'), max);
    assert.equal(m.get('fastdeploy:free_gpu_block_num'), max - m.get('fastdeploy:prefix_cache_block_num')!);
    assert.ok(m.get('fastdeploy:prefix_cache_block_num')! > 0);
    // The server still serves.
    const after = await stream(server.url, 'The end', 4);
    assert.ok(after.sawDone);
  });
});
