// ChoiceDecoder on hand-written engine outputs: text assembly, stop strings, stop tokens and finish reasons.
// (End-to-end behaviour through the real engine is in test/server/generation.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EngineOutput } from '../../src/engine/types.ts';
import { ApiError } from '../../src/protocol/errors.ts';
import { type ChoiceConfig, ChoiceDecoder } from '../../src/serving/choice.ts';
import { loadHfTokenizer } from '../../src/text/load.ts';

const tokenizer = loadHfTokenizer(fileURLToPath(new URL('../../../shared/models/stories260K/hf', import.meta.url)));
const EOS = 2;
const IDS = tokenizer.encode('Once upon a time, there was a cat.', { addSpecialTokens: false });
// A completion continues its prompt, so the first token's "▁" stays a space (src/text/detokenizer.ts).
const TEXT = ' Once upon a time, there was a cat.';

function decoder(extra: Partial<ChoiceConfig> = {}): ChoiceDecoder {
  return new ChoiceDecoder({
    tokenizer,
    stopStrings: [],
    stopTokenIds: [EOS],
    includeStopInOutput: false,
    maxTokens: 100,
    ...extra,
  });
}

/** Feeds ids one output per token; the last output carries `finish`. */
function feed(d: ChoiceDecoder, ids: number[], finish?: EngineOutput['finishReason']) {
  const steps = [];
  for (let i = 0; i < ids.length && !d.finished; i++) {
    const out: EngineOutput = { id: 'r', tokenIds: [ids[i]] };
    if (i === ids.length - 1 && finish) out.finishReason = finish;
    steps.push(d.push(out));
  }
  return steps;
}

describe('ChoiceDecoder', () => {
  it('streams text that adds up to the full decode', () => {
    const d = decoder();
    const steps = feed(d, IDS, 'length');
    assert.equal(steps.map((s) => s.text).join(''), TEXT);
    assert.equal(d.text, TEXT);
    assert.deepEqual(d.tokenIds, IDS);
    assert.equal(d.finishReason, 'length');
  });

  it('drops the EOS text, counts the EOS token, finish_reason stop', () => {
    const d = decoder();
    const steps = feed(d, [...IDS, EOS], 'stop');
    assert.equal(d.text, TEXT);
    assert.equal(steps.at(-1)!.text, '');
    assert.equal(d.tokenIds.length, IDS.length + 1);
    assert.equal(d.finishReason, 'stop');
  });

  it('keeps the EOS text with include_stop_str_in_output', () => {
    const d = decoder({ includeStopInOutput: true });
    feed(d, [...IDS, EOS], 'stop');
    assert.equal(d.text, `${TEXT}</s>`);
  });

  it('EOS as the max_tokens-th token reports length (api-spec §6.4)', () => {
    const d = decoder({ maxTokens: 3 });
    feed(d, [IDS[0], IDS[1], EOS], 'stop');
    assert.equal(d.finishReason, 'length');
  });

  it('a stop string ends the choice, is removed, and asks for an abort', () => {
    const d = decoder({ stopStrings: [' time'] });
    const steps = feed(d, IDS);
    assert.equal(d.text, ' Once upon a');
    assert.equal(d.finishReason, 'stop');
    assert.equal(steps.at(-1)!.stoppedByString, true);
    // tokens up to the one that completed the stop string
    assert.deepEqual(d.tokenIds, IDS.slice(0, 4));
  });

  it('a stop string split across tokens still stops; include_stop_str_in_output keeps it', () => {
    const d = decoder({ stopStrings: ['e wa'], includeStopInOutput: true });
    feed(d, IDS);
    assert.equal(d.text, ' Once upon a time, there wa');
    assert.equal(d.finishReason, 'stop');
  });

  it('held-back text is released when generation ends without a stop', () => {
    const d = decoder({ stopStrings: ['cat!'] });
    feed(d, IDS, 'length');
    assert.equal(d.text, TEXT);
    assert.equal(d.finishReason, 'length');
  });

  it('several tokens in one output are handled like single ones', () => {
    const d = decoder({ stopStrings: ['upon'] });
    const step = d.push({ id: 'r', tokenIds: IDS, logprobs: IDS.map(() => ({ logprob: -1, top: [] })) });
    assert.equal(step.text, ' Once ');
    assert.equal(step.tokenIds.length, 2);
    assert.equal(step.logprobs.length, 2);
    assert.equal(step.finishReason, 'stop');
  });

  it('engine errors throw', () => {
    const d = decoder();
    assert.throws(
      () => d.push({ id: 'r', tokenIds: [], finishReason: 'error', error: 'kaput' }),
      (e: unknown) => e instanceof ApiError && e.status === 500 && /kaput/.test(e.message),
    );
  });
});
