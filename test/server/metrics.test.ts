// GET /metrics with the real engine on stories260K: FastDeploy's names in Prometheus text, counters that add
// up to the responses' usage, histogram counts, engine gauges at rest, and prefix-cache hits.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buckets125 } from '../../src/server/metrics.ts';
import { createServing } from '../../src/serving/index.ts';
import type { ServingObserver } from '../../src/serving/metrics-observer.ts';
import { type Fixture, type Json, MAX_MODEL_LEN, MODEL_DIR, parseSse, postJson, startFixture } from './helpers.ts';

type Samples = Map<string, number>;

/** Scrapes /metrics; returns every sample (`name{labels}` → value) and the raw text. */
async function scrape(f: Fixture): Promise<{ samples: Samples; text: string }> {
  const res = await f.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4; charset=utf-8$/);
  const samples: Samples = new Map();
  for (const line of res.body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return { samples, text: res.body };
}

function get(s: Samples, name: string): number {
  const v = s.get(name);
  assert.ok(v !== undefined, `${name} missing from /metrics`);
  return v;
}

/** How much `name` grew between two scrapes. */
function delta(before: Samples, after: Samples, name: string): number {
  return get(after, name) - (before.get(name) ?? 0);
}

const FD = 'fastdeploy:';

describe('GET /metrics', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture({ maxBatchSize: 8 });
  });
  after(async () => {
    await f?.close();
  });

  it('exposes FastDeploy names, engine gauges at rest and the default process metrics', async () => {
    const { samples, text } = await scrape(f);
    const stats = await f.engine.stats();
    assert.equal(get(samples, `${FD}max_gpu_block_num`), stats.numBlocks);
    assert.equal(get(samples, `${FD}available_gpu_block_num`), stats.numBlocks);
    assert.equal(get(samples, `${FD}free_gpu_block_num`), stats.numBlocks);
    assert.equal(get(samples, `${FD}available_gpu_resource`), 1);
    assert.equal(get(samples, `${FD}gpu_cache_usage_perc`), 0);
    assert.equal(get(samples, `${FD}num_requests_running`), 0);
    assert.equal(get(samples, `${FD}num_requests_waiting`), 0);
    assert.equal(get(samples, `${FD}prefix_cache_block_num`), 0);
    assert.equal(get(samples, `${FD}max_batch_size`), 8);
    assert.equal(get(samples, `${FD}hit_token_rate`), 0);
    for (const counter of [
      'requests_number',
      'request_success_total',
      'prompt_tokens_total',
      'generation_tokens_total',
      'prefix_cache_token_num',
    ]) {
      assert.equal(get(samples, `${FD}${counter}`), 0, counter);
      assert.match(text, new RegExp(`^# TYPE ${FD}${counter} counter$`, 'm'));
    }
    // Histograms carry FastDeploy's buckets (api-spec §11).
    assert.match(text, /^# TYPE fastdeploy:time_to_first_token_seconds histogram$/m);
    assert.ok(samples.has(`${FD}time_to_first_token_seconds_bucket{le="0.001"}`));
    assert.ok(samples.has(`${FD}time_to_first_token_seconds_bucket{le="1"}`));
    assert.ok(samples.has(`${FD}time_per_output_token_seconds_bucket{le="0.01"}`));
    assert.ok(samples.has(`${FD}e2e_request_latency_seconds_bucket{le="7680"}`));
    assert.ok(samples.has(`${FD}request_params_max_tokens_bucket{le="20000"}`));
    assert.ok(!samples.has(`${FD}request_params_max_tokens_bucket{le="50000"}`));
    assert.equal(get(samples, `${FD}request_prompt_tokens_count`), 0);
    // prom-client's default process metrics, in this server's own registry.
    assert.ok(samples.has('process_cpu_user_seconds_total'));
    assert.ok(samples.has('nodejs_heap_size_used_bytes'));
  });

  it('counts requests, tokens and latencies as the responses report them', async () => {
    const { samples: b } = await scrape(f);

    const plain = (
      await postJson(f.app, '/v1/completions', {
        prompt: 'Once upon a time',
        max_tokens: 6,
        temperature: 0,
        ignore_eos: true,
      })
    ).json();
    const twoChoices = (
      await postJson(f.app, '/v1/completions', {
        prompt: 'The little dog',
        max_tokens: 5,
        n: 2,
        temperature: 0.8,
        seed: 7,
        ignore_eos: true,
      })
    ).json();
    const streamed = parseSse(
      (
        await postJson(f.app, '/v1/chat/completions', {
          messages: [{ role: 'user', content: 'Tell me a story' }],
          max_tokens: 7,
          temperature: 0,
          ignore_eos: true,
          stream: true,
          stream_options: { include_usage: true },
        })
      ).body,
    );
    assert.ok(streamed.done);
    const streamedUsage: Json = streamed.events.at(-1).usage;
    const usages: Json[] = [plain.usage, twoChoices.usage, streamedUsage];
    assert.deepEqual(
      usages.map((u) => u.completion_tokens),
      [6, 10, 7],
    );

    const { samples: a } = await scrape(f);
    const sum = (key: string) => usages.reduce((s, u) => s + u[key], 0);
    assert.equal(delta(b, a, `${FD}requests_number`), 3);
    assert.equal(delta(b, a, `${FD}request_success_total`), 3);
    assert.equal(delta(b, a, `${FD}prompt_tokens_total`), sum('prompt_tokens'));
    assert.equal(delta(b, a, `${FD}generation_tokens_total`), sum('completion_tokens'));
    // Per API request, equal to usage.
    assert.equal(delta(b, a, `${FD}request_prompt_tokens_count`), 3);
    assert.equal(delta(b, a, `${FD}request_prompt_tokens_sum`), sum('prompt_tokens'));
    assert.equal(delta(b, a, `${FD}request_generation_tokens_count`), 3);
    assert.equal(delta(b, a, `${FD}request_generation_tokens_sum`), sum('completion_tokens'));
    assert.equal(delta(b, a, `${FD}e2e_request_latency_seconds_count`), 3);
    assert.ok(delta(b, a, `${FD}e2e_request_latency_seconds_sum`) > 0);
    // Per choice: 1 + 2 + 1 engine requests, each with at least two tokens (so each has a TPOT).
    assert.equal(delta(b, a, `${FD}time_to_first_token_seconds_count`), 4);
    assert.ok(delta(b, a, `${FD}time_to_first_token_seconds_sum`) > 0);
    assert.equal(delta(b, a, `${FD}time_per_output_token_seconds_count`), 4);
    assert.equal(delta(b, a, `${FD}request_params_max_tokens_count`), 4);
    assert.equal(delta(b, a, `${FD}request_params_max_tokens_sum`), 6 + 5 + 5 + 7);
    // Bucket counts are cumulative and end at the count.
    assert.equal(delta(b, a, `${FD}request_params_max_tokens_bucket{le="5"}`), 2, 'the two choices with max_tokens 5');
    assert.equal(delta(b, a, `${FD}request_params_max_tokens_bucket{le="+Inf"}`), 4);

    // Everything finished: nothing runs, every block is available again.
    const max = get(a, `${FD}max_gpu_block_num`);
    assert.equal(get(a, `${FD}num_requests_running`), 0);
    assert.equal(get(a, `${FD}num_requests_waiting`), 0);
    assert.equal(get(a, `${FD}available_gpu_block_num`), max);
    assert.equal(get(a, `${FD}gpu_cache_usage_perc`), 0);
  });

  it('does not count requests rejected by validation', async () => {
    const { samples: b } = await scrape(f);
    // Rejected in the handlers (not by the schema): a prompt longer than the context, an unknown model.
    const tooLong = await f.app.inject({
      method: 'POST',
      url: '/v1/completions',
      payload: { prompt: new Array(300).fill(5), max_tokens: 4 },
    });
    assert.equal(tooLong.statusCode, 400);
    const unknownModel = await f.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: { model: 'nope', messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(unknownModel.statusCode, 404);
    const { samples: a } = await scrape(f);
    assert.equal(delta(b, a, `${FD}requests_number`), 0);
    assert.equal(delta(b, a, `${FD}request_params_max_tokens_count`), 0);
  });

  it('reports prefix-cache hits of a shared-prefix request', async () => {
    // Over two full KV blocks (64 tokens each) of shared prefix, well inside the 256-token context.
    let prefix = '';
    while (f.tokenizer.encode(prefix, { addSpecialTokens: true }).length < 150) {
      prefix += 'Lily and her brother Ben went to the park to play with a red ball. ';
    }
    const ask = async (suffix: string): Promise<Json> =>
      (
        await postJson(f.app, '/v1/completions', {
          prompt: prefix + suffix,
          max_tokens: 4,
          temperature: 0,
        })
      ).json();

    const { samples: s0 } = await scrape(f);
    const first = await ask('Then they went home.');
    const { samples: s1 } = await scrape(f);
    const second = await ask('The sun was shining.');
    const { samples: s2 } = await scrape(f);

    const cached1 = first.usage.prompt_tokens_details.cached_tokens;
    const cached2 = second.usage.prompt_tokens_details.cached_tokens;
    assert.ok(cached2 >= 128, `second request should reuse two blocks, got ${cached2} cached tokens`);
    assert.equal(delta(s0, s1, `${FD}prefix_cache_token_num`), cached1);
    assert.equal(delta(s1, s2, `${FD}prefix_cache_token_num`), cached2);
    assert.ok(get(s2, `${FD}prefix_cache_block_num`) >= 2);
    assert.ok(get(s2, `${FD}hit_token_rate`) > get(s1, `${FD}hit_token_rate`));
    // Cached blocks nobody owns still count as available.
    assert.equal(get(s2, `${FD}available_gpu_block_num`), get(s2, `${FD}max_gpu_block_num`));
  });
});

describe('serving observer events', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(async () => {
    await f?.close();
  });

  /** Serving on the fixture's engine with an observer that logs its events. */
  function observed() {
    const events: string[] = [];
    const observer: ServingObserver = {
      requestReceived({ maxTokens }) {
        events.push(`received ${maxTokens.join(',')}`);
        return {
          firstToken: (c) => events.push(`first ${c}`),
          choiceFinished: (c, n) => events.push(`choice ${c}: ${n.generationTokens} tokens`),
          finished: (n) => events.push(`finished: ${n.promptTokens} + ${n.generationTokens} tokens`),
          failed: (cause) => events.push(`failed: ${cause}`),
        };
      },
    };
    const serving = createServing({
      engine: f.engine,
      tokenizer: f.tokenizer,
      modelPath: MODEL_DIR,
      maxModelLen: MAX_MODEL_LEN,
      enableLogprob: false,
      eosTokenIds: f.tokenizer.eosTokenIds,
      observer,
    });
    return { events, serving };
  }

  it('reports received, first token, choice and request finished, in order', async () => {
    const { events, serving } = observed();
    const r = await serving.completions.create(
      { prompt: [1, 400, 401], max_tokens: 3, ignore_eos: true, temperature: 0 },
      new AbortController().signal,
    );
    assert.equal(r.stream, false);
    assert.deepEqual(events, ['received 3', 'first 0', 'choice 0: 3 tokens', 'finished: 3 + 3 tokens']);
  });

  it('reports a request the client abandoned as failed, never as finished', async () => {
    const { events, serving } = observed();
    const ac = new AbortController();
    const r = await serving.chat.create(
      { messages: [{ role: 'user', content: 'hi' }], max_tokens: 100, ignore_eos: true, stream: true },
      ac.signal,
    );
    assert.ok(r.stream);
    for await (const _ of r.chunks) ac.abort();
    assert.deepEqual(events, ['received 100', 'first 0', 'failed: aborted']);

    // A consumer that stops reading (the SSE write failed) ends the same way.
    events.length = 0;
    const r2 = await serving.completions.create(
      { prompt: 'Once upon a time', max_tokens: 100, ignore_eos: true, stream: true },
      new AbortController().signal,
    );
    assert.ok(r2.stream);
    for await (const _ of r2.chunks) break;
    assert.deepEqual(events, ['received 100', 'first 0', 'failed: aborted']);
  });
});

describe('buckets125', () => {
  it("builds FastDeploy's 1-2-5 token buckets", () => {
    assert.deepEqual(buckets125(33792), [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]);
    assert.deepEqual(buckets125(10), [1, 2, 5, 10]);
  });
});
