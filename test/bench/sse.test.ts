import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseParser } from '../../src/bench/sse.ts';

describe('SSE parser', () => {
  it('yields data payloads across arbitrary chunk splits', () => {
    const stream = 'data: {"a":1}\n\ndata: {"b":"é"}\n\ndata: [DONE]\n\n';
    const bytes = new TextEncoder().encode(stream);
    // every split point, including inside the two-byte "é"
    for (let cut = 0; cut <= bytes.length; cut++) {
      const p = new SseParser();
      const got = [...p.push(bytes.slice(0, cut)), ...p.push(bytes.slice(cut)), ...p.end()];
      assert.deepEqual(got, ['{"a":1}', '{"b":"é"}', '[DONE]'], `cut at ${cut}`);
    }
  });

  it('handles CRLF, comments, other fields, multi-line data and no space after the colon', () => {
    const p = new SseParser();
    const got = p.push(': keep-alive\r\n\r\nevent: message\r\nid: 3\r\ndata:x\r\ndata: y\r\n\r\ndata: z\n\n');
    assert.deepEqual(got, ['x\ny', 'z']);
  });

  it('an event is only complete at its blank line; end() flushes a trailing one', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('data: one\n'), []);
    assert.deepEqual(p.push('\ndata: two'), ['one']);
    assert.deepEqual(p.end(), ['two']);
  });
});
