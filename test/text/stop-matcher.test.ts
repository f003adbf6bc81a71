import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StopMatcher } from '../../src/text/stop-matcher.ts';

/** Push chunks; returns what was emitted per push and whether/when it stopped. */
function run(m: StopMatcher, chunks: string[]): { out: string[]; stoppedAt: number } {
  const out: string[] = [];
  let stoppedAt = -1;
  chunks.forEach((c, i) => {
    const r = m.push(c);
    out.push(r.text);
    if (r.stopped && stoppedAt < 0) stoppedAt = i;
  });
  return { out, stoppedAt };
}

describe('StopMatcher', () => {
  it('passes text through when there are no stops (or only empty ones)', () => {
    const m = new StopMatcher(['']);
    assert.deepEqual(run(m, ['Hello', ' world']).out, ['Hello', ' world']);
    assert.equal(m.flush(), '');
  });

  it('emits text as soon as it cannot start a stop string, holding back possible prefixes', () => {
    const m = new StopMatcher(['STOP']);
    assert.deepEqual(run(m, ['abc S', 'T', 'x', 'yz ST']).out, ['abc ', '', 'STx', 'yz ']);
    assert.equal(m.flush(), 'ST');
    assert.equal(m.flush(), '');
  });

  it('matches a stop split across pushes and drops it', () => {
    const m = new StopMatcher(['\n\nUser:']);
    const r = run(m, ['Sure.', '\n', '\nUs', 'er:', ' more']);
    assert.deepEqual(r.out, ['Sure.', '', '', '', '']);
    assert.equal(r.stoppedAt, 3);
    assert.equal(m.matched, '\n\nUser:');
    assert.deepEqual(m.push('later'), { text: '', stopped: true });
    assert.equal(m.flush(), '');
  });

  it('keeps the text before a stop inside one chunk and includes the stop on request', () => {
    assert.deepEqual(new StopMatcher(['.']).push('One. Two.'), { text: 'One', stopped: true });
    assert.deepEqual(new StopMatcher(['.'], { includeStopInOutput: true }).push('One. Two.'), {
      text: 'One.',
      stopped: true,
    });
    const m = new StopMatcher(['END'], { includeStopInOutput: true });
    assert.deepEqual(run(m, ['a E', 'N', 'D b']).out, ['a ', '', 'END']);
  });

  it('with overlapping candidates the stop that completes first wins', () => {
    // "abcd" is still possible when "bce" completes
    const m = new StopMatcher(['abcd', 'bce']);
    assert.deepEqual(run(m, ['xab', 'c', 'e']).out, ['x', '', 'a']);
    assert.equal(m.matched, 'bce');
    // both end at the same place: the longer one (earlier start) removes more
    assert.deepEqual(new StopMatcher(['bc', 'abc']).push('xxabc'), { text: 'xx', stopped: true });
    // a short stop inside a longer candidate's prefix stops immediately
    const m2 = new StopMatcher(['abc', 'b']);
    assert.deepEqual(run(m2, ['a', 'b', 'c']).out, ['', 'a', '']);
    assert.equal(m2.matched, 'b');
  });

  it('holds back the longest possible prefix among several stops', () => {
    const m = new StopMatcher(['<|im_end|>', '<|end|>']);
    assert.deepEqual(run(m, ['text<|', 'e', 'n', 'x']).out, ['text', '', '', '<|enx']);
    const m2 = new StopMatcher(['aaa']);
    assert.deepEqual(run(m2, ['baa', 'a']).out, ['b', '']);
    assert.equal(m2.matched, 'aaa');
  });

  it('keeps surrogate pairs whole', () => {
    const m = new StopMatcher(['😀!']);
    assert.deepEqual(run(m, ['hi 😀', '?']).out, ['hi ', '😀?']);
  });
});
