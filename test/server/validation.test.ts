// Requests the server must refuse before the engine sees them. The engine here throws on every call, so a
// test that gets a 4xx proves the check happened first; the few that must pass validation show up as the
// engine's error instead.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { EngineClient } from '../../src/engine/client-types.ts';
import { createServer, type ServerOptions } from '../../src/server/app.ts';
import { loadHfTokenizer } from '../../src/text/load.ts';

const MODEL_DIR = fileURLToPath(new URL('../../../shared/models/stories260K/hf', import.meta.url));
const ENGINE_REACHED = 'engine reached';

function failingEngine(vocab: number): EngineClient {
  return {
    maxModelLen: 32,
    modelVocabSize: vocab,
    alive: true,
    generate() {
      throw new Error(ENGINE_REACHED);
    },
    stats() {
      throw new Error(ENGINE_REACHED);
    },
    async close() {},
  };
}

function makeServer(extra: Partial<ServerOptions> = {}): FastifyInstance {
  const tokenizer = loadHfTokenizer(MODEL_DIR);
  return createServer({
    engine: failingEngine(tokenizer.vocabSize),
    tokenizer,
    modelPath: MODEL_DIR,
    maxModelLen: 32,
    enableLogprob: false,
    eosTokenIds: tokenizer.eosTokenIds,
    ...extra,
  });
}

/** Asserts the OpenAI error shape (all four keys) and returns the error object. */
function openAiError(body: string): {
  message: string;
  type: string | null;
  param: string | null;
  code: string | null;
} {
  const json = JSON.parse(body);
  assert.deepEqual(Object.keys(json), ['error']);
  assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof json.error.message, 'string');
  assert.ok(json.error.message.length > 0);
  return json.error;
}

const chat = (extra: Record<string, unknown> = {}) => ({ messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('request validation (schema)', () => {
  let app: FastifyInstance;
  before(() => {
    app = makeServer();
  });
  after(() => app.close());

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });

  const cases: [string, string, unknown, string | null, string][] = [
    ['temperature as a word', '/v1/chat/completions', chat({ temperature: 'hot' }), 'temperature', 'invalid_value'],
    [
      'temperature as a numeric string (no coercion)',
      '/v1/chat/completions',
      chat({ temperature: '0.5' }),
      'temperature',
      'invalid_value',
    ],
    ['stream as a string (no coercion)', '/v1/chat/completions', chat({ stream: 'true' }), 'stream', 'invalid_value'],
    ['top_p above 1', '/v1/chat/completions', chat({ top_p: 1.5 }), 'top_p', 'invalid_value'],
    ['temperature above 2', '/v1/completions', { prompt: 'x', temperature: 2.5 }, 'temperature', 'invalid_value'],
    ['negative seed', '/v1/chat/completions', chat({ seed: -1 }), 'seed', 'invalid_value'],
    ['fractional max_tokens', '/v1/chat/completions', chat({ max_tokens: 10.5 }), 'max_tokens', 'invalid_value'],
    ['top_k below -1', '/v1/completions', { prompt: 'x', top_k: -2 }, 'top_k', 'invalid_value'],
    ['n = 0', '/v1/completions', { prompt: 'x', n: 0 }, 'n', 'invalid_value'],
    ['stop as a number', '/v1/chat/completions', chat({ stop: 123 }), 'stop', 'invalid_value'],
    ['missing messages', '/v1/chat/completions', { model: 'x' }, 'messages', 'missing_required_parameter'],
    ['messages as a string', '/v1/chat/completions', { messages: 'text' }, 'messages', 'invalid_value'],
    [
      'message without role',
      '/v1/chat/completions',
      { messages: [{ content: 'x' }] },
      'messages[0].role',
      'missing_required_parameter',
    ],
    ['missing prompt', '/v1/completions', { max_tokens: 3 }, 'prompt', 'missing_required_parameter'],
    ['prompt mixing ids and strings', '/v1/completions', { prompt: [1, 'a'] }, 'prompt[1]', 'invalid_value'],
    ['chat logprobs as an integer', '/v1/chat/completions', chat({ logprobs: 3 }), 'logprobs', 'invalid_value'],
    ['body is an array', '/v1/completions', [1, 2], null, 'invalid_value'],
  ];
  for (const [name, url, payload, param, code] of cases) {
    it(`${name} → 400 param ${param}`, async () => {
      const res = await post(url, payload);
      assert.equal(res.statusCode, 400, res.body);
      const err = openAiError(res.body);
      assert.equal(err.type, 'invalid_request_error');
      assert.equal(err.param, param);
      assert.equal(err.code, code);
    });
  }

  it('range errors name the bound', async () => {
    const err = openAiError((await post('/v1/chat/completions', chat({ top_p: 1.5 }))).body);
    assert.match(err.message, /top_p/);
    assert.match(err.message, /<= 1/);
  });

  it('invalid JSON → 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      payload: '{"messages": [',
    });
    assert.equal(res.statusCode, 400);
    const err = openAiError(res.body);
    assert.equal(err.type, 'invalid_request_error');
    assert.equal(err.code, 'invalid_json');
  });

  it('empty JSON body → 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/completions',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    assert.equal(res.statusCode, 400);
    openAiError(res.body);
  });

  it('text/plain body → 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify(chat()),
    });
    assert.equal(res.statusCode, 400);
    assert.equal(openAiError(res.body).code, 'invalid_content_type');
  });

  it('unknown route → 404 OpenAI body', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/nope', payload: {} });
    assert.equal(res.statusCode, 404);
    assert.equal(openAiError(res.body).code, 'not_found');
    const get = await app.inject({ method: 'GET', url: '/v1/chat/completions' });
    assert.equal(get.statusCode, 404);
    openAiError(get.body);
  });
});

describe('request validation (semantics, in serving/)', () => {
  let app: FastifyInstance;
  let logprobApp: FastifyInstance;
  let namedApp: FastifyInstance;
  before(() => {
    app = makeServer();
    logprobApp = makeServer({ enableLogprob: true });
    namedApp = makeServer({ servedModelName: 'stories' });
  });
  after(async () => {
    await app.close();
    await logprobApp.close();
    await namedApp.close();
  });

  const post = (a: FastifyInstance, url: string, payload: unknown) =>
    a.inject({ method: 'POST', url, payload: payload as object });

  async function expect400(a: FastifyInstance, url: string, payload: unknown, param: string | null, msg?: RegExp) {
    const res = await post(a, url, payload);
    assert.equal(res.statusCode, 400, res.body);
    const err = openAiError(res.body);
    assert.equal(err.type, 'invalid_request_error');
    assert.equal(err.param, param);
    if (msg) assert.match(err.message, msg);
    return err;
  }

  it('stream_options without stream → 400', async () => {
    await expect400(
      app,
      '/v1/chat/completions',
      chat({ stream_options: { include_usage: true } }),
      'stream_options',
      /stream=True/,
    );
    await expect400(
      app,
      '/v1/completions',
      { prompt: 'x', stream: false, stream_options: { include_usage: true } },
      'stream_options',
    );
  });

  it('logprobs on a server without --enable-logprob → 400', async () => {
    await expect400(
      app,
      '/v1/chat/completions',
      chat({ logprobs: true }),
      'logprobs',
      /^Logprobs is disabled, please enable it in startup config\.$/,
    );
    await expect400(app, '/v1/completions', { prompt: 'x', logprobs: 2 }, 'logprobs', /Logprobs is disabled/);
  });

  it('top_logprobs above --max-logprobs → 400', async () => {
    await expect400(
      logprobApp,
      '/v1/chat/completions',
      chat({ logprobs: true, top_logprobs: 21 }),
      'top_logprobs',
      /21.*20/,
    );
    await expect400(logprobApp, '/v1/completions', { prompt: 'x', logprobs: 21 }, 'logprobs', /21.*20/);
  });

  it('top_logprobs without logprobs → 400', async () => {
    await expect400(logprobApp, '/v1/chat/completions', chat({ top_logprobs: 2 }), 'top_logprobs');
  });

  it('empty prompts and messages → 400', async () => {
    await expect400(app, '/v1/completions', { prompt: '' }, 'prompt', /empty/);
    await expect400(app, '/v1/completions', { prompt: [] }, 'prompt', /empty/);
    await expect400(app, '/v1/completions', { prompt: ['a', ''] }, 'prompt[1]', /empty/);
    await expect400(app, '/v1/completions', { prompt: [[1, 2], []] }, 'prompt[1]', /empty/);
    await expect400(app, '/v1/chat/completions', { messages: [] }, 'messages', /empty/);
  });

  it('token ids outside the vocabulary → 400', async () => {
    await expect400(app, '/v1/completions', { prompt: [1, 100000] }, 'prompt', /100000/);
  });

  it('a prompt that fills the context window alone → 400 naming both numbers', async () => {
    const long = 'Once upon a time there was a little girl named Lily who liked to play outside in the park every day';
    const err = await expect400(app, '/v1/completions', { prompt: long }, 'prompt');
    assert.equal(err.code, 'context_length_exceeded');
    assert.match(err.message, /\b32\b/);
    const tokens = Number(/has (\d+) tokens/.exec(err.message)?.[1]);
    assert.ok(tokens >= 32, err.message);
  });

  it('max_tokens below 1 → 400', async () => {
    await expect400(app, '/v1/completions', { prompt: 'x', max_tokens: 0 }, 'max_tokens', /\[1, 32\)/);
    await expect400(app, '/v1/chat/completions', chat({ max_completion_tokens: -10 }), 'max_completion_tokens');
  });

  it('more than 5 stop sequences → 400', async () => {
    await expect400(app, '/v1/completions', { prompt: 'x', stop: ['a', 'b', 'c', 'd', 'e', 'f'] }, 'stop');
    await expect400(app, '/v1/completions', { prompt: 'x', stop: ['a', 'b', 'c'], stop_token_ids: [5, 6, 7] }, 'stop');
  });

  it('unknown model with --served-model-name → 404 model_not_found', async () => {
    const res = await post(namedApp, '/v1/chat/completions', chat({ model: 'gpt-4' }));
    assert.equal(res.statusCode, 404);
    const err = openAiError(res.body);
    assert.equal(err.code, 'model_not_found');
    assert.equal(err.param, 'model');
  });

  it('valid requests reach the engine: served name, "default", unknown keys, nulls', async () => {
    for (const payload of [
      chat({ model: 'stories' }),
      chat({ model: 'default', invalid_field: 1, metadata: null }),
      chat({ temperature: null, top_p: null, max_tokens: null, stop: null, seed: null, stream_options: null }),
      chat({ stream: false, stream_options: {} }),
    ]) {
      const res = await post(namedApp, '/v1/chat/completions', payload);
      assert.equal(res.statusCode, 500, res.body);
      assert.match(openAiError(res.body).message, new RegExp(ENGINE_REACHED));
    }
  });

  it('an engine failure during a stream becomes an error event, then [DONE]', async () => {
    const res = await post(app, '/v1/completions', { prompt: 'x', stream: true });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    const events = res.body.split('\n\n').filter((e) => e !== '');
    assert.deepEqual(events.at(-1), 'data: [DONE]');
    const err = JSON.parse(events.at(-2)!.slice('data: '.length));
    assert.match(err.error.message, new RegExp(ENGINE_REACHED));
  });
});

describe('service routes', () => {
  let app: FastifyInstance;
  before(() => {
    app = makeServer({ servedModelName: 'stories' });
  });
  after(() => app.close());

  it('GET /health → 200 with an empty body', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, '');
  });

  it('GET /v1/models lists the served model (api-spec §3.4)', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/models' });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.object, 'list');
    assert.equal(body.data.length, 1);
    const m = body.data[0];
    assert.equal(m.id, 'stories');
    assert.equal(m.object, 'model');
    assert.equal(m.owned_by, 'FastDeploy');
    assert.equal(m.root, MODEL_DIR);
    assert.equal(m.parent, null);
    assert.equal(m.max_model_len, 32);
    assert.equal(typeof m.created, 'number');
    assert.match(m.permission[0].id, /^modelperm-[0-9a-f]{32}$/);
    assert.equal(m.permission[0].object, 'model_permission');
  });
});
