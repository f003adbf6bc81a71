/**
 * Benchmark metrics with vLLM bench serve's names and definitions, so results can be compared across
 * servers: only completed requests count; TPOT excludes the first token, (e2e − ttft)/(output − 1), and
 * is undefined for one-token outputs; ITL pools every gap of every request; percentiles interpolate
 * linearly between order statistics (numpy's default); std is the population deviation; an empty
 * sample gives 0 rather than NaN so the JSON stays valid.
 */
import type { RequestResult } from './client.ts';

export const LATENCY_METRICS = ['ttft', 'tpot', 'itl', 'e2el'] as const;
export type LatencyMetric = (typeof LATENCY_METRICS)[number];

/** p in [0, 100] over unsorted values; linear interpolation between closest ranks. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Population standard deviation. */
export function std(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) * (v - m);
  return Math.sqrt(s / values.length);
}

/** "99" → "p99", "99.9" → "p99.9" (vLLM's key spelling). */
export function percentileKey(p: number): string {
  return `p${Number.isInteger(p) ? p.toFixed(0) : String(p)}`;
}

/** TPOT of one request in seconds, or undefined when it produced fewer than two tokens. */
export function tpotOf(r: Pick<RequestResult, 'latency' | 'ttft' | 'outputTokens'>): number | undefined {
  return r.outputTokens > 1 ? (r.latency - r.ttft) / (r.outputTokens - 1) : undefined;
}

/** Per-metric samples in milliseconds over the completed requests. */
export function latencySamples(results: readonly RequestResult[]): Record<LatencyMetric, number[]> {
  const ok = results.filter((r) => r.success);
  const tpots: number[] = [];
  for (const r of ok) {
    const t = tpotOf(r);
    if (t !== undefined) tpots.push(t * 1000);
  }
  return {
    ttft: ok.map((r) => r.ttft * 1000),
    tpot: tpots,
    itl: ok.flatMap((r) => r.itl.map((x) => x * 1000)),
    e2el: ok.map((r) => r.latency * 1000),
  };
}

/**
 * Highest number of output chunks (≈ tokens) arriving within one 1-second bin of the run, counted from
 * `runStart`; a peak rate that the run-wide average hides when load ramps up and down.
 */
export function peakOutputPerSecond(results: readonly RequestResult[], runStart: number): number {
  const bins = new Map<number, number>();
  for (const r of results) {
    if (!r.success) continue;
    for (const t of r.chunkTimes) {
      const b = Math.floor(t - runStart);
      bins.set(b, (bins.get(b) ?? 0) + 1);
    }
  }
  let max = 0;
  for (const n of bins.values()) max = Math.max(max, n);
  return max;
}

/** Largest number of requests in flight at once (sweep over send/finish times, failures included). */
export function peakConcurrency(results: readonly RequestResult[]): number {
  const events: [number, number][] = [];
  for (const r of results) {
    events.push([r.start, 1], [r.start + r.latency, -1]);
  }
  // At equal times finish before start: back-to-back requests under a cap do not overlap.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of events) {
    cur += d;
    max = Math.max(max, cur);
  }
  return max;
}

export type MetricsRecord = Record<string, number>;

/** Everything vLLM reports as numbers: counts, throughputs and mean/median/std/pXX per latency metric. */
export function computeMetrics(
  results: readonly RequestResult[],
  durationS: number,
  runStart: number,
  percentiles: readonly number[],
): MetricsRecord {
  const ok = results.filter((r) => r.success);
  const totalInput = ok.reduce((s, r) => s + r.promptLen, 0);
  const totalOutput = ok.reduce((s, r) => s + r.outputTokens, 0);
  const rate = (n: number): number => (durationS > 0 ? n / durationS : 0);
  const m: MetricsRecord = {
    duration: durationS,
    completed: ok.length,
    failed: results.length - ok.length,
    total_input_tokens: totalInput,
    total_output_tokens: totalOutput,
    request_throughput: rate(ok.length),
    output_throughput: rate(totalOutput),
    total_token_throughput: rate(totalInput + totalOutput),
    max_output_tokens_per_s: peakOutputPerSecond(results, runStart),
    max_concurrent_requests: peakConcurrency(results),
  };
  const samples = latencySamples(results);
  for (const name of LATENCY_METRICS) {
    const v = samples[name];
    m[`mean_${name}_ms`] = mean(v);
    m[`median_${name}_ms`] = percentile(v, 50);
    m[`std_${name}_ms`] = std(v);
    for (const p of percentiles) m[`${percentileKey(p)}_${name}_ms`] = percentile(v, p);
  }
  return m;
}
