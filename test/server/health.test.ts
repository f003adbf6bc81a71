import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Fixture, startFixture } from './helpers.ts';

describe('health follows the engine', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f.close());

  it('200 while the engine runs; 503 and erroring (never hanging) requests once it is gone', async () => {
    assert.equal((await f.app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    await f.engine.close();
    const health = await f.app.inject({ method: 'GET', url: '/health' });
    assert.equal(health.statusCode, 503);
    assert.match(health.body, /Not Healthy/);
    const res = await f.app.inject({
      method: 'POST',
      url: '/v1/completions',
      payload: { model: 'stories', prompt: 'Once upon a time', max_tokens: 4 },
    });
    assert.ok(res.statusCode >= 500, `status ${res.statusCode}`);
    assert.ok(res.json().error.message, res.body);
  });
});
