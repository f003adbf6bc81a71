import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestResult } from '../../src/bench/client.ts';
import {
  computeMetrics,
  mean,
  peakConcurrency,
  peakOutputPerSecond,
  percentile,
  percentileKey,
  std,
  tpotOf,
} from '../../src/bench/metrics.ts';

const close = (a: number, b: number, eps = 1e-9): void => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

/** A completed request: sent at `start`, first token after `ttft`, then one chunk per `gaps` entry. */
function done(start: number, ttft: number, gaps: number[], extra: Partial<RequestResult> = {}): RequestResult {
  const chunkTimes = [start + ttft];
  for (const g of gaps) chunkTimes.push(chunkTimes[chunkTimes.length - 1] + g);
  return {
    success: true,
    error: '',
    promptLen: 16,
    outputTokens: gaps.length + 1,
    usageReported: true,
    ttft,
    itl: gaps,
    latency: chunkTimes[chunkTimes.length - 1] - start,
    start,
    chunkTimes,
    generatedText: '',
    ...extra,
  };
}

describe('bench metrics', () => {
  it('percentiles interpolate linearly like numpy', () => {
    close(percentile([1, 2, 3, 4], 99), 3.97);
    close(percentile([50, 10, 40, 20, 30], 90), 46);
    close(percentile([3, 1, 2], 50), 2);
    close(percentile([5], 99), 5);
    assert.equal(percentile([], 99), 0);
    close(std([1, 2, 3, 4]), 1.118033988749895);
    assert.equal(mean([]), 0);
    assert.equal(percentileKey(99), 'p99');
    assert.equal(percentileKey(99.9), 'p99.9');
  });

  it('TPOT excludes the first token and is undefined for one-token outputs', () => {
    // 0.5 s to the first token, then 4 more tokens in 0.4 s: 0.1 s each, whatever the TTFT.
    close(tpotOf({ latency: 0.9, ttft: 0.5, outputTokens: 5 })!, 0.1);
    assert.equal(tpotOf({ latency: 0.9, ttft: 0.5, outputTokens: 1 }), undefined);
  });

  it('computes vLLM-named metrics from synthetic timings', () => {
    const results = [
      done(0, 0.1, [0.02, 0.02, 0.02]), // e2e 0.16, tpot 0.02
      done(0, 0.2, [0.04, 0.04, 0.04]), // e2e 0.32, tpot 0.04
      done(0.5, 0.3, []), // one token: no TPOT, no ITL
      { ...done(0.5, 0, []), success: false, error: 'HTTP 500', outputTokens: 0, chunkTimes: [], latency: 0.01 },
    ];
    const m = computeMetrics(results, 2, 0, [50, 99]);
    assert.equal(m.completed, 3);
    assert.equal(m.failed, 1);
    assert.equal(m.total_input_tokens, 48);
    assert.equal(m.total_output_tokens, 9);
    close(m.duration, 2);
    close(m.request_throughput, 1.5);
    close(m.output_throughput, 4.5);
    close(m.total_token_throughput, 28.5);
    close(m.mean_ttft_ms, 200);
    close(m.median_ttft_ms, 200);
    close(m.p99_ttft_ms, 298);
    close(m.mean_tpot_ms, 30);
    close(m.p50_tpot_ms, 30);
    close(m.mean_itl_ms, 30);
    close(m.median_itl_ms, 30);
    close(m.mean_e2el_ms, (160 + 320 + 300) / 3);
    close(m.std_ttft_ms, std([100, 200, 300]));
    assert.equal(m.max_concurrent_requests, 2); // the two at 0 s, then the two at 0.5 s
    assert.equal(m.max_output_tokens_per_s, 9);
    for (const k of ['mean', 'median', 'std', 'p99']) {
      for (const name of ['ttft', 'tpot', 'itl', 'e2el']) assert.equal(typeof m[`${k}_${name}_ms`], 'number');
    }
  });

  it('an all-failed run gives zeros, not NaN', () => {
    const failed = { ...done(0, 0, []), success: false, chunkTimes: [] };
    const m = computeMetrics([failed], 0, 0, [99]);
    for (const [k, v] of Object.entries(m)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
    assert.equal(m.completed, 0);
    assert.equal(m.failed, 1);
  });

  it('peaks: back-to-back requests do not overlap; tokens are binned per second', () => {
    const a = done(0, 0.5, [0.5]); // 0 → 1.0
    const b = done(1, 0.2, [0.2, 0.2, 0.2]); // 1.0 → 1.8, four chunks in second 1
    assert.equal(peakConcurrency([a, b]), 1);
    assert.equal(peakOutputPerSecond([a, b], 0), 5); // a's second chunk at 1.0 joins b's four
  });
});
