/**
 * The human-readable result block, laid out like vLLM's bench serve output (50 columns, labels padded to
 * 40) so people who know one can read the other at a glance.
 */
import { LATENCY_METRICS, type LatencyMetric, type MetricsRecord, percentileKey } from './metrics.ts';

const WIDTH = 50;

function center(text: string, fill: string): string {
  const left = Math.floor((WIDTH - text.length) / 2);
  return fill.repeat(Math.max(0, left)) + text + fill.repeat(Math.max(0, WIDTH - text.length - left));
}

function row(label: string, value: number | string, digits?: number): string {
  const v = typeof value === 'number' && digits !== undefined ? value.toFixed(digits) : String(value);
  return `${label.padEnd(40)} ${v}`;
}

const HEADERS: Record<LatencyMetric, [string, string]> = {
  ttft: ['Time to First Token', 'TTFT'],
  tpot: ['Time per Output Token (excl. 1st token)', 'TPOT'],
  itl: ['Inter-token Latency', 'ITL'],
  e2el: ['End-to-end Latency', 'E2EL'],
};

export interface ReportContext {
  maxConcurrency: number | null;
  requestRate: number;
  percentiles: readonly number[];
  /** which latency sections to print */
  metrics?: readonly LatencyMetric[];
}

export function formatReport(m: MetricsRecord, ctx: ReportContext): string {
  const lines = [center(' Serving Benchmark Result ', '=')];
  lines.push(row('Successful requests:', m.completed));
  lines.push(row('Failed requests:', m.failed));
  if (ctx.maxConcurrency !== null) lines.push(row('Maximum request concurrency:', ctx.maxConcurrency));
  lines.push(row('Request rate configured (RPS):', Number.isFinite(ctx.requestRate) ? ctx.requestRate : 'inf', 2));
  lines.push(row('Benchmark duration (s):', m.duration, 2));
  lines.push(row('Total input tokens:', m.total_input_tokens));
  lines.push(row('Total generated tokens:', m.total_output_tokens));
  lines.push(row('Request throughput (req/s):', m.request_throughput, 2));
  lines.push(row('Output token throughput (tok/s):', m.output_throughput, 2));
  lines.push(row('Peak output token throughput (tok/s):', m.max_output_tokens_per_s, 2));
  lines.push(row('Peak concurrent requests:', m.max_concurrent_requests, 2));
  lines.push(row('Total Token throughput (tok/s):', m.total_token_throughput, 2));
  for (const name of ctx.metrics ?? LATENCY_METRICS) {
    const [title, short] = HEADERS[name];
    lines.push(center(title, '-'));
    lines.push(row(`Mean ${short} (ms):`, m[`mean_${name}_ms`], 2));
    lines.push(row(`Median ${short} (ms):`, m[`median_${name}_ms`], 2));
    for (const p of ctx.percentiles) {
      lines.push(row(`P${percentileKey(p).slice(1)} ${short} (ms):`, m[`${percentileKey(p)}_${name}_ms`], 2));
    }
  }
  lines.push('='.repeat(WIDTH));
  return `${lines.join('\n')}\n`;
}
