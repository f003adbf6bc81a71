// Response shapes with the real engine (stories260K) behind the real server: non-stream and stream, chat and
// completions, logprob layouts, return_token_ids, usage, stop strings, n > 1 and the context window.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Fixture, type Json, MAX_MODEL_LEN, parseSse, postJson, startFixture } from './helpers.ts';

const PROMPT = 'Once upon a time, there was a little girl named Lily.';
const GREEDY = { temperature: 0 };

let fx: Fixture;
before(async () => {
  fx = await startFixture();
});
after(() => fx.close());

const completion = async (body: object) => (await postJson(fx.app, '/v1/completions', body)).json();
const chat = async (body: object) => (await postJson(fx.app, '/v1/chat/completions', body)).json();
const stream = async (url: string, body: object) => {
  const res = await postJson(fx.app, url, { ...body, stream: true });
  assert.match(String(res.headers['content-type']), /^text\/event-stream/);
  const { events, done } = parseSse(res.body);
  assert.ok(done, 'stream ends with data: [DONE]');
  return events;
};
const userMessages = [{ role: 'user', content: PROMPT }];

describe('chat completions (non-stream)', () => {
  it('carries every key, with nulls for unused ones', async () => {
    const r = await chat({ model: 'stories', messages: userMessages, max_tokens: 12, ...GREEDY });
    assert.deepEqual(Object.keys(r).sort(), ['choices', 'created', 'id', 'model', 'object', 'usage']);
    assert.match(r.id, /^chatcmpl-[0-9a-f-]{36}$/);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, 'stories');
    assert.equal(typeof r.created, 'number');
    assert.equal(r.choices.length, 1);
    const c = r.choices[0];
    assert.deepEqual(Object.keys(c).sort(), [
      'draft_logprobs',
      'finish_reason',
      'index',
      'logprobs',
      'message',
      'prompt_logprobs',
      'speculate_metrics',
    ]);
    assert.equal(c.index, 0);
    assert.equal(c.logprobs, null);
    assert.deepEqual(Object.keys(c.message).sort(), [
      'completion_token_ids',
      'completion_tokens',
      'content',
      'multimodal_content',
      'prompt_token_ids',
      'prompt_tokens',
      'reasoning_content',
      'role',
      'tool_calls',
    ]);
    assert.equal(c.message.role, 'assistant');
    assert.equal(typeof c.message.content, 'string');
    assert.ok(c.message.content.length > 0);
    assert.equal(c.message.prompt_token_ids, null);
    assert.ok(['stop', 'length'].includes(c.finish_reason));
  });

  it('usage counts the rendered prompt once and every generated token', async () => {
    const r = await chat({ messages: userMessages, max_tokens: 7, ...GREEDY, return_token_ids: true });
    const m = r.choices[0].message;
    // The stories260K template: bos_token + contents joined by newlines.
    assert.equal(m.prompt_tokens, `<s>${PROMPT}`);
    assert.deepEqual(m.prompt_token_ids, fx.tokenizer.encode(`<s>${PROMPT}`, { addSpecialTokens: false }));
    assert.equal(m.completion_token_ids.length, r.usage.completion_tokens);
    assert.equal(typeof m.completion_tokens, 'string');
    assert.deepEqual(r.usage, {
      prompt_tokens: m.prompt_token_ids.length,
      total_tokens: m.prompt_token_ids.length + r.usage.completion_tokens,
      completion_tokens: r.usage.completion_tokens,
      prompt_tokens_details: { cached_tokens: 0, image_tokens: 0, video_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, image_tokens: 0 },
    });
  });

  it('content parts are flattened; a per-request chat_template replaces the model template', async () => {
    const r = await chat({
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Once upon' },
            { type: 'text', text: 'a time' },
          ],
        },
      ],
      chat_template: '{% for m in messages %}[{{ m.role }}] {{ m.content }}|{% endfor %}',
      max_tokens: 2,
      ...GREEDY,
      return_token_ids: true,
    });
    assert.equal(r.choices[0].message.prompt_tokens, '[system] Be brief.|[user] Once upon\na time|');
  });

  it('max_completion_tokens wins over max_tokens; max_tokens=1 gives one token and length', async () => {
    const r = await chat({ messages: userMessages, max_tokens: 9, max_completion_tokens: 1, ...GREEDY });
    assert.equal(r.usage.completion_tokens, 1);
    assert.equal(r.choices[0].finish_reason, 'length');
  });

  it('logprobs layout (api-spec §6.3): content entries with top_logprobs alternatives', async () => {
    const r = await chat({ messages: userMessages, max_tokens: 6, ...GREEDY, logprobs: true, top_logprobs: 3 });
    const lp = r.choices[0].logprobs;
    assert.deepEqual(Object.keys(lp).sort(), ['content', 'refusal']);
    assert.equal(lp.refusal, null);
    assert.equal(lp.content.length, r.usage.completion_tokens);
    for (const e of lp.content) {
      assert.deepEqual(Object.keys(e).sort(), ['bytes', 'logprob', 'token', 'top_logprobs']);
      assert.equal(typeof e.token, 'string');
      assert.ok(e.logprob <= 0);
      assert.deepEqual(e.bytes, [...Buffer.from(e.token, 'utf8')]);
      assert.equal(e.top_logprobs.length, 3);
      for (const alt of e.top_logprobs) {
        assert.deepEqual(Object.keys(alt).sort(), ['bytes', 'logprob', 'token', 'top_logprobs']);
        assert.equal(alt.top_logprobs, null);
      }
      // greedy: the sampled token is the best alternative
      assert.equal(e.top_logprobs[0].token, e.token);
      assert.ok(Math.abs(e.top_logprobs[0].logprob - e.logprob) < 1e-5);
      assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob);
    }
    assert.equal(lp.content.map((e: { token: string }) => e.token).join(''), r.choices[0].message.content);
  });

  it('logprobs without top_logprobs means 0 alternatives (Decisions §4)', async () => {
    const r = await chat({ messages: userMessages, max_tokens: 3, ...GREEDY, logprobs: true });
    for (const e of r.choices[0].logprobs.content) assert.deepEqual(e.top_logprobs, []);
  });

  it('n=2 with a seed: two choices, seeded reproducibly, prompt counted once', async () => {
    const body = { messages: userMessages, max_tokens: 10, n: 2, seed: 7, temperature: 1, top_p: 1 };
    const a = await chat(body);
    const b = await chat(body);
    assert.deepEqual(
      a.choices.map((c: { index: number }) => c.index),
      [0, 1],
    );
    assert.deepEqual(
      a.choices.map((c: Json) => c.message.content),
      b.choices.map((c: Json) => c.message.content),
    );
    const single = await chat({ ...body, n: 1 });
    // choice 0 uses the request's seed itself (choice k uses seed + k)
    assert.equal(single.choices[0].message.content, a.choices[0].message.content);
    const prompt = fx.tokenizer.encode(`<s>${PROMPT}`, { addSpecialTokens: false }).length;
    assert.equal(a.usage.prompt_tokens, prompt);
    assert.equal(a.usage.completion_tokens, 20);
  });
});

describe('completions (non-stream)', () => {
  it('carries every key; greedy output is deterministic', async () => {
    const body = { model: 'default', prompt: PROMPT, max_tokens: 12, ...GREEDY };
    const r = await completion(body);
    assert.match(r.id, /^cmpl-/);
    assert.equal(r.object, 'text_completion');
    assert.equal(r.model, 'stories');
    const c = r.choices[0];
    assert.deepEqual(Object.keys(c).sort(), [
      'arrival_time',
      'completion_token_ids',
      'completion_tokens',
      'draft_logprobs',
      'finish_reason',
      'index',
      'logprobs',
      'prompt_logprobs',
      'prompt_token_ids',
      'prompt_tokens',
      'reasoning_content',
      'speculate_metrics',
      'text',
      'tool_calls',
    ]);
    assert.equal(c.finish_reason, 'length');
    assert.equal(r.usage.completion_tokens, 12);
    assert.equal(r.usage.prompt_tokens, fx.tokenizer.encode(PROMPT).length);
    assert.deepEqual(r.usage.prompt_tokens_details, { cached_tokens: 0, image_tokens: null, video_tokens: null });
    assert.deepEqual(r.usage.completion_tokens_details, { reasoning_tokens: 0, image_tokens: 0 });
    const again = await completion(body);
    assert.equal(again.choices[0].text, c.text);
  });

  it('return_token_ids: prompt ids with BOS, completion ids, prompt string', async () => {
    const r = await completion({ prompt: PROMPT, max_tokens: 5, ...GREEDY, return_token_ids: true });
    const c = r.choices[0];
    const ids = fx.tokenizer.encode(PROMPT, { addSpecialTokens: true });
    assert.equal(ids[0], fx.tokenizer.bosTokenId);
    assert.deepEqual(c.prompt_token_ids, ids);
    assert.equal(c.prompt_tokens, PROMPT);
    assert.equal(c.completion_token_ids.length, 5);
    assert.equal(typeof c.completion_tokens, 'string');
  });

  it('token-id prompts and echo', async () => {
    const ids = fx.tokenizer.encode(PROMPT);
    const byText = await completion({ prompt: PROMPT, max_tokens: 6, ...GREEDY });
    const byIds = await completion({ prompt: ids, max_tokens: 6, ...GREEDY, echo: true });
    assert.equal(byIds.choices[0].text, PROMPT + byText.choices[0].text);
    const echoed = await completion({ prompt: PROMPT, max_tokens: 6, ...GREEDY, echo: true });
    assert.equal(echoed.choices[0].text, PROMPT + byText.choices[0].text);
  });

  it('logprobs layout: tokens, token_logprobs, top_logprobs dicts, text_offset', async () => {
    const r = await completion({ prompt: PROMPT, max_tokens: 6, ...GREEDY, logprobs: 2 });
    const lp = r.choices[0].logprobs;
    assert.deepEqual(Object.keys(lp).sort(), ['text_offset', 'token_logprobs', 'tokens', 'top_logprobs']);
    assert.equal(lp.text_offset, null);
    assert.equal(lp.tokens.length, 6);
    assert.equal(lp.token_logprobs.length, 6);
    assert.equal(lp.top_logprobs.length, 6);
    lp.top_logprobs.forEach((dict: Record<string, number>, i: number) => {
      // the sampled token plus the 2 best (greedy: the sampled one is among them)
      assert.equal(Object.keys(dict).length, 2);
      assert.equal(dict[lp.tokens[i]], lp.token_logprobs[i]);
    });
    assert.equal(lp.tokens.join(''), r.choices[0].text);
  });

  it('batch prompts × n: choice order, one prompt count per prompt', async () => {
    const prompts = [PROMPT, 'The dog'];
    const r = await completion({ prompt: prompts, n: 2, max_tokens: 4, seed: 3 });
    assert.deepEqual(
      r.choices.map((c: { index: number }) => c.index),
      [0, 1, 2, 3],
    );
    const promptTokens = prompts.reduce((s, p) => s + fx.tokenizer.encode(p).length, 0);
    assert.equal(r.usage.prompt_tokens, promptTokens);
    assert.equal(r.usage.completion_tokens, 16);
  });

  it('max_tokens beyond the window is clamped: prompt + completion = max_model_len, length', async () => {
    const r = await completion({ prompt: PROMPT, max_tokens: 100000, ...GREEDY, ignore_eos: true });
    assert.equal(r.usage.total_tokens, MAX_MODEL_LEN);
    assert.equal(r.choices[0].finish_reason, 'length');
    const dflt = await completion({ prompt: PROMPT, ...GREEDY, ignore_eos: true });
    assert.equal(dflt.usage.total_tokens, MAX_MODEL_LEN);
  });
});

describe('stop conditions', () => {
  let full: string;
  let stopWord: string;
  before(async () => {
    full = (await completion({ prompt: PROMPT, max_tokens: 40, ...GREEDY, ignore_eos: true })).choices[0].text;
    // a stop string from the middle of the greedy text, not at its very start
    const words = full.split(' ').filter((w) => /^[a-z]{3,}$/.test(w));
    stopWord = words[Math.floor(words.length / 2)];
    assert.ok(stopWord, `no usable word in ${JSON.stringify(full)}`);
  });

  it('a stop string ends the text before it, finish_reason stop, engine request aborted', async () => {
    const r = await completion({ prompt: PROMPT, max_tokens: 40, ...GREEDY, ignore_eos: true, stop: [stopWord] });
    const c = r.choices[0];
    assert.equal(c.text, full.slice(0, full.indexOf(stopWord)));
    assert.equal(c.finish_reason, 'stop');
    assert.ok(r.usage.completion_tokens < 40);
    const rec = fx.engine.find(`${r.id}_`)[0];
    assert.ok(rec.signal?.aborted, 'the engine request was aborted');
  });

  it('include_stop_str_in_output keeps the stop string', async () => {
    const r = await completion({
      prompt: PROMPT,
      max_tokens: 40,
      ...GREEDY,
      ignore_eos: true,
      stop: stopWord,
      include_stop_str_in_output: true,
    });
    assert.equal(r.choices[0].text, full.slice(0, full.indexOf(stopWord) + stopWord.length));
  });

  it('streamed text with a stop string equals the non-stream text', async () => {
    const body = { prompt: PROMPT, max_tokens: 40, ...GREEDY, ignore_eos: true, stop: [stopWord, 'zzzz'] };
    const events = await stream('/v1/completions', body);
    const text = events.map((e) => e.choices[0]?.text ?? '').join('');
    assert.equal(text, full.slice(0, full.indexOf(stopWord)));
    assert.equal(events.at(-1).choices[0].finish_reason, 'stop');
  });

  it('a stop token id ends generation; its text is not shown', async () => {
    const r = await completion({ prompt: PROMPT, max_tokens: 40, ...GREEDY, return_token_ids: true, ignore_eos: true });
    const ids: number[] = r.choices[0].completion_token_ids;
    const stopId = ids[5];
    const s = await completion({
      prompt: PROMPT,
      max_tokens: 40,
      ...GREEDY,
      ignore_eos: true,
      return_token_ids: true,
      stop_token_ids: [stopId],
    });
    const c = s.choices[0];
    assert.equal(c.finish_reason, 'stop');
    assert.deepEqual(c.completion_token_ids, ids.slice(0, ids.indexOf(stopId) + 1));
    const shown = new TextDecoder().decode(fx.tokenizer.tokenBytes(stopId));
    assert.equal(c.text + shown, r.choices[0].text.slice(0, c.text.length + shown.length));
    // …and with include_stop_str_in_output the stop token's text ends the output (same path as EOS)
    const kept = await completion({
      prompt: PROMPT,
      max_tokens: 40,
      ...GREEDY,
      ignore_eos: true,
      stop_token_ids: [stopId],
      include_stop_str_in_output: true,
    });
    assert.equal(kept.choices[0].text, c.text + shown);
  });
});

describe('streaming', () => {
  it('chat: role chunk, content deltas, finish_reason last, one usage chunk, [DONE]', async () => {
    const body = { messages: userMessages, max_tokens: 10, ...GREEDY };
    const whole = await chat(body);
    const events = await stream('/v1/chat/completions', { ...body, stream_options: { include_usage: true } });
    for (const e of events) {
      assert.equal(e.id, events[0].id);
      assert.equal(e.object, 'chat.completion.chunk');
      assert.equal(e.model, 'stories');
    }
    const first = events[0].choices[0];
    assert.equal(first.delta.role, 'assistant');
    assert.equal(first.delta.content, '');
    assert.ok(!('finish_reason' in first));
    const usageChunk = events.at(-1);
    assert.deepEqual(usageChunk.choices, []);
    assert.equal(usageChunk.usage.completion_tokens, whole.usage.completion_tokens);
    assert.equal(usageChunk.usage.prompt_tokens, whole.usage.prompt_tokens);
    const tokenChunks = events.slice(1, -1);
    assert.equal(tokenChunks.length, whole.usage.completion_tokens);
    for (const e of events.slice(0, -1)) assert.ok(!('usage' in e), 'usage only in the last chunk');
    for (const e of tokenChunks.slice(0, -1)) assert.ok(!('finish_reason' in e.choices[0]));
    for (const e of tokenChunks) assert.ok(!('role' in e.choices[0].delta));
    assert.equal(tokenChunks.at(-1).choices[0].finish_reason, whole.choices[0].finish_reason);
    const content = tokenChunks.map((e) => e.choices[0].delta.content).join('');
    assert.equal(content, whole.choices[0].message.content);
  });

  it('chat continuous_usage_stats: cumulative usage on every chunk', async () => {
    const events = await stream('/v1/chat/completions', {
      messages: userMessages,
      max_tokens: 4,
      ...GREEDY,
      stream_options: { include_usage: false, continuous_usage_stats: true },
    });
    assert.equal(events.length, 5);
    events.forEach((e, i) => {
      assert.equal(e.usage.completion_tokens, i);
      assert.equal(e.usage.total_tokens, e.usage.prompt_tokens + i);
    });
  });

  it('chat without stream_options: no usage chunk', async () => {
    const events = await stream('/v1/chat/completions', { messages: userMessages, max_tokens: 3, ...GREEDY });
    assert.ok(events.every((e) => !('usage' in e)));
    assert.ok(events.every((e) => e.choices.length === 1));
  });

  it('chat logprobs and return_token_ids in chunks', async () => {
    const events = await stream('/v1/chat/completions', {
      messages: userMessages,
      max_tokens: 4,
      ...GREEDY,
      logprobs: true,
      top_logprobs: 2,
      return_token_ids: true,
    });
    const [role, ...tokens] = events;
    assert.ok(Array.isArray(role.choices[0].delta.prompt_token_ids));
    assert.equal(role.choices[0].delta.completion_token_ids, null);
    for (const e of tokens) {
      const ch = e.choices[0];
      assert.equal(ch.delta.prompt_token_ids, null);
      assert.equal(ch.delta.completion_token_ids.length, 1);
      assert.equal(ch.logprobs.content.length, 1);
      assert.equal(ch.logprobs.content[0].top_logprobs.length, 2);
      // inner alternatives carry no top_logprobs key in stream chunks (api-spec §6.3)
      assert.ok(!('top_logprobs' in ch.logprobs.content[0].top_logprobs[0]));
    }
  });

  it('chat n=2: a role chunk and a finish per choice', async () => {
    const events = await stream('/v1/chat/completions', {
      messages: userMessages,
      max_tokens: 5,
      n: 2,
      seed: 1,
      stream_options: { include_usage: true },
    });
    for (const index of [0, 1]) {
      const mine = events.filter((e) => e.choices[0]?.index === index);
      assert.equal(mine[0].choices[0].delta.role, 'assistant');
      assert.equal(mine.filter((e) => 'finish_reason' in e.choices[0]).length, 1);
      assert.equal(mine.length, 1 + 5);
    }
    assert.equal(events.at(-1).usage.completion_tokens, 10);
  });

  it('completions: text deltas equal the non-stream text; usage once at the end', async () => {
    const body = { prompt: PROMPT, max_tokens: 10, ...GREEDY, echo: true };
    const whole = await completion(body);
    const events = await stream('/v1/completions', { ...body, stream_options: { include_usage: true } });
    const usage = events.filter((e) => 'usage' in e);
    assert.equal(usage.length, 1);
    assert.equal(events.at(-1), usage[0]);
    assert.deepEqual(usage[0].usage, whole.usage);
    const chunks = events.slice(0, -1);
    assert.equal(chunks.map((e) => e.choices[0].text).join(''), whole.choices[0].text);
    assert.ok(chunks[0].choices[0].text.startsWith(PROMPT), 'echo goes in front of the first chunk');
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'length');
    for (const e of chunks.slice(0, -1)) assert.ok(!('finish_reason' in e.choices[0]));
  });

  it('completions return_token_ids: a first chunk with the prompt ids', async () => {
    const events = await stream('/v1/completions', {
      prompt: PROMPT,
      max_tokens: 3,
      ...GREEDY,
      return_token_ids: true,
    });
    const [first, ...rest] = events;
    assert.deepEqual(first.choices[0].prompt_token_ids, fx.tokenizer.encode(PROMPT));
    assert.equal(first.choices[0].prompt_tokens, PROMPT);
    assert.equal(first.choices[0].text, '');
    assert.equal(rest.length, 3);
    for (const e of rest) {
      assert.equal(e.choices[0].prompt_token_ids, null);
      assert.equal(e.choices[0].completion_token_ids.length, 1);
    }
  });
});
