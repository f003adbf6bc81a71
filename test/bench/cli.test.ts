import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/cli/args.ts';
import { parseBenchArgs } from '../../src/cli/bench.ts';

function parse(...args: string[]) {
  const cfg = parseBenchArgs(['serve', ...args]);
  assert.notEqual(cfg, 'help');
  if (cfg === 'help') throw new Error('unreachable');
  return cfg;
}

describe('tsdeploy bench serve flags', () => {
  it('defaults follow vLLM bench serve where it has them', () => {
    const c = parse();
    assert.equal(c.baseUrl, 'http://127.0.0.1:8000');
    assert.equal(c.endpoint, '/v1/completions');
    assert.equal(c.datasetName, 'random');
    assert.equal(c.promptFormat, 'ids');
    assert.equal(c.vocabSize, 256);
    assert.equal(c.requestRate, Number.POSITIVE_INFINITY);
    assert.equal(c.maxConcurrency, null);
    assert.equal(c.ignoreEos, false);
    assert.deepEqual(c.percentiles, [99]);
    assert.deepEqual(c.extraBody, { temperature: 0 });
  });

  it('parses rates, aliases, lists and the extra body', () => {
    const c = parse(
      '--request-rate=2.5',
      '--max_concurrency',
      '4',
      '--dataset-name',
      'prefix_repetition',
      '--prefix-len',
      '64',
      '--prefix-repetition-suffix-len',
      '8',
      '--metric-percentiles',
      '50,99.9',
      '--percentile-metrics',
      'ttft,itl',
      '--extra-body',
      '{"top_k": 1}',
      '--endpoint',
      '/v1/chat/completions',
    );
    assert.equal(c.requestRate, 2.5);
    assert.equal(c.maxConcurrency, 4);
    assert.equal(c.datasetName, 'prefix-repetition');
    assert.equal(c.prefixRepetition.prefixLen, 64);
    assert.equal(c.prefixRepetition.suffixLen, 8);
    assert.deepEqual(c.percentiles, [50, 99.9]);
    assert.deepEqual(c.percentileMetrics, ['ttft', 'itl']);
    assert.deepEqual(c.extraBody, { temperature: 0, top_k: 1 });
    assert.equal(c.promptFormat, 'text'); // chat needs text
  });

  it('rejects bad values as usage errors', () => {
    for (const args of [
      ['--request-rate', '0'],
      ['--request-rate', 'fast'],
      ['--dataset-name', 'sharegpt'],
      ['--endpoint', '/v1/chat/completions', '--prompt-format', 'ids'],
      ['--extra-body', '[1]'],
      ['--metric-percentiles', '100'],
      ['--max-concurrency', '0'],
      ['--base-url', 'ftp://x'],
      ['--bogus'],
    ]) {
      assert.throws(() => parse(...args), UsageError, args.join(' '));
    }
    assert.equal(parseBenchArgs(['serve', '--help']), 'help');
    assert.throws(() => parseBenchArgs(['throughput']), UsageError);
  });
});
