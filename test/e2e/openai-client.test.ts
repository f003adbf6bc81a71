/** Acceptance: the official `openai` client against a started server — streaming and not. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { STORIES_HF } from '../helpers/models.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';

describe('openai client end to end', () => {
  let server: RunningServer;
  let client: OpenAI;
  before(async () => {
    server = await startServer(['--model', STORIES_HF, '--served-model-name', 'stories']);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(() => server.stop());

  it('lists the served model', async () => {
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['stories'],
    );
  });

  it('streamed chat deltas concatenate to the non-streamed content at temperature 0', async () => {
    const messages = [{ role: 'user' as const, content: 'Once upon a time' }];
    const full = await client.chat.completions.create({ model: 'stories', messages, max_tokens: 40, temperature: 0 });
    const content = full.choices[0].message.content ?? '';
    assert.ok(content.length > 0);
    assert.equal(full.choices[0].finish_reason, 'length');
    assert.equal(full.usage?.completion_tokens, 40);

    const stream = await client.chat.completions.create({
      model: 'stories',
      messages,
      max_tokens: 40,
      temperature: 0,
      stream: true,
    });
    let streamed = '';
    let finish: string | null | undefined;
    let role: string | undefined;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (!c) continue;
      role ??= c.delta.role;
      streamed += c.delta.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
    assert.equal(role, 'assistant');
    assert.equal(streamed, content);
    assert.equal(finish, 'length');
  });

  it('a streamed completion ends with one usage chunk when include_usage is set', async () => {
    const stream = await client.completions.create({
      model: 'stories',
      prompt: 'The little dog',
      max_tokens: 12,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.completion_tokens, 12);
    assert.equal(last.usage?.prompt_tokens, 5); // BOS + 4 tokens
    assert.equal(last.usage?.total_tokens, 17);
    assert.equal(chunks.filter((c) => c.usage).length, 1);
    const text = chunks.flatMap((c) => c.choices.map((x) => x.text)).join('');
    const whole = await client.completions.create({ model: 'stories', prompt: 'The little dog', max_tokens: 12, temperature: 0 });
    assert.equal(text, whole.choices[0].text);
  });

  it('rejects an unknown model name with 404 when --served-model-name is set', async () => {
    await assert.rejects(
      client.completions.create({ model: 'other', prompt: 'x', max_tokens: 1 }),
      (err: unknown) => err instanceof OpenAI.NotFoundError,
    );
  });
});
