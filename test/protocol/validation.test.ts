import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, badRequest, errorBody, modelNotFound, toApiError } from '../../src/protocol/errors.ts';
import { paramName, schemaErrorToApiError } from '../../src/protocol/validation.ts';

describe('error bodies', () => {
  it('always carry message, type, param and code', () => {
    assert.deepEqual(errorBody('boom'), {
      error: { message: 'boom', type: 'invalid_request_error', param: null, code: null },
    });
    assert.deepEqual(badRequest('bad', 'top_p').toBody(), {
      error: { message: 'bad', type: 'invalid_request_error', param: 'top_p', code: 'invalid_value' },
    });
  });

  it('unknown model is a 404 model_not_found', () => {
    const e = modelNotFound('gpt-4');
    assert.equal(e.status, 404);
    assert.equal(e.code, 'model_not_found');
    assert.equal(e.param, 'model');
  });

  it('unknown exceptions become internal 500s; ApiErrors pass through', () => {
    const e = toApiError(new Error('x'));
    assert.equal(e.status, 500);
    assert.equal(e.type, 'internal_error');
    const a = new ApiError(429, 'slow down');
    assert.equal(toApiError(a), a);
    assert.equal(a.type, 'invalid_request_error');
  });
});

describe('schema errors → one OpenAI error', () => {
  it('formats parameter paths', () => {
    assert.equal(paramName([]), null);
    assert.equal(paramName(['messages', '0', 'role']), 'messages[0].role');
    assert.equal(paramName(['stream_options', 'include_usage']), 'stream_options.include_usage');
  });

  it('missing property → missing_required_parameter', () => {
    const e = schemaErrorToApiError([
      { keyword: 'required', instancePath: '', params: { missingProperty: 'messages' } },
    ]);
    assert.equal(e.status, 400);
    assert.equal(e.param, 'messages');
    assert.equal(e.code, 'missing_required_parameter');
  });

  it('a range error beats the null branch of a nullable field', () => {
    const e = schemaErrorToApiError([
      { keyword: 'maximum', instancePath: '/top_p', params: { limit: 1 }, message: 'must be <= 1' },
      { keyword: 'type', instancePath: '/top_p', params: { type: 'null' }, message: 'must be null' },
      { keyword: 'anyOf', instancePath: '/top_p', params: {}, message: 'must match a schema in anyOf' },
    ]);
    assert.equal(e.param, 'top_p');
    assert.match(e.message, /must be <= 1/);
  });

  it('type alternatives are merged, without null', () => {
    const e = schemaErrorToApiError([
      { keyword: 'type', instancePath: '/stop', params: { type: 'string' } },
      { keyword: 'type', instancePath: '/stop', params: { type: 'array' } },
      { keyword: 'type', instancePath: '/stop', params: { type: 'null' } },
      { keyword: 'anyOf', instancePath: '/stop', params: {} },
    ]);
    assert.equal(e.param, 'stop');
    assert.match(e.message, /expected string or array\./);
  });

  it('the union branch that got furthest names the parameter', () => {
    const e = schemaErrorToApiError([
      { keyword: 'type', instancePath: '/prompt', params: { type: 'string' } },
      { keyword: 'type', instancePath: '/prompt/0', params: { type: 'string' } },
      { keyword: 'type', instancePath: '/prompt/2', params: { type: 'integer' } },
      { keyword: 'type', instancePath: '/prompt/0', params: { type: 'array' } },
      { keyword: 'anyOf', instancePath: '/prompt', params: {} },
    ]);
    assert.equal(e.param, 'prompt[2]');
    assert.match(e.message, /expected integer/);
  });
});
