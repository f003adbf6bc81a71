/**
 * `tsdeploy bench serve`: build a synthetic workload, replay it against an OpenAI-compatible server with
 * streaming requests, and report vLLM-style serving metrics (table on stdout, optional JSON file).
 * Only the given base URL is contacted, and only with the configured number of requests (plus warm-ups).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arrivalOffsets } from './arrivals.ts';
import { type EndpointKind, type RequestResult, type RequestSettings, sendRequest } from './client.ts';
import { type BenchRequest, type PromptFormat, prefixRepetitionWorkload, randomWorkload } from './datasets.ts';
import { computeMetrics, type LatencyMetric, type MetricsRecord } from './metrics.ts';
import { formatReport } from './report.ts';
import { runScheduled } from './runner.ts';

export type DatasetName = 'random' | 'prefix-repetition';

export interface BenchServeConfig {
  baseUrl: string;
  endpoint: string;
  /** served model name; asked from /v1/models when absent */
  model?: string;
  datasetName: DatasetName;
  numPrompts: number;
  seed: number;
  vocabSize: number;
  promptFormat: PromptFormat;
  /** token ids → text for text prompts (from --tokenizer) */
  decode?: (ids: number[]) => string;
  tokenizerId?: string;
  random: { inputLen: number; outputLen: number; prefixLen: number; rangeRatio: number };
  prefixRepetition: { prefixLen: number; suffixLen: number; numPrefixes: number; outputLen: number };
  requestRate: number;
  burstiness: number;
  maxConcurrency: number | null;
  ignoreEos: boolean;
  /** temperature, top_p, … and --extra-body, merged into every request body */
  extraBody: Record<string, unknown>;
  apiKey?: string;
  timeoutS: number;
  numWarmups: number;
  percentiles: number[];
  percentileMetrics: LatencyMetric[];
  saveResult: boolean;
  saveDetailed: boolean;
  resultDir?: string;
  resultFilename?: string;
  label?: string;
}

export interface BenchIo {
  out: (text: string) => void;
  /** progress and notes (stderr) */
  err: (text: string) => void;
  progress: boolean;
}

export interface BenchServeResult {
  metrics: MetricsRecord;
  results: RequestResult[];
  json: Record<string, unknown>;
  savedTo?: string;
}

export function buildWorkload(cfg: BenchServeConfig): BenchRequest[] {
  const common = {
    numPrompts: cfg.numPrompts,
    vocabSize: cfg.vocabSize,
    seed: cfg.seed,
    format: cfg.promptFormat,
    decode: cfg.decode,
  };
  if (cfg.datasetName === 'random') return randomWorkload({ ...common, ...cfg.random });
  return prefixRepetitionWorkload({ ...common, ...cfg.prefixRepetition });
}

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

/** The first served model, as vLLM's client does when --model is not given. */
async function resolveModel(cfg: BenchServeConfig, headers: Record<string, string>): Promise<string> {
  const url = joinUrl(cfg.baseUrl, '/v1/models');
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new Error(`cannot reach ${url}: ${cause instanceof Error ? cause.message : String(err)}`);
  }
  const text = await res.text();
  if (cfg.model) return cfg.model; // reachable is all that is needed then
  if (!res.ok) throw new Error(`GET ${url} → HTTP ${res.status}; pass --model`);
  const id = (JSON.parse(text) as { data?: { id?: unknown }[] }).data?.[0]?.id;
  if (typeof id !== 'string') throw new Error(`GET ${url} listed no model; pass --model`);
  return id;
}

function endpointKind(endpoint: string): EndpointKind {
  if (/\/chat\/completions\/?$/.test(endpoint)) return 'chat';
  if (/\/completions\/?$/.test(endpoint)) return 'completions';
  throw new Error(`unsupported --endpoint '${endpoint}' (…/completions or …/chat/completions)`);
}

function timestamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export async function benchServe(cfg: BenchServeConfig, io: BenchIo): Promise<BenchServeResult> {
  if (/^[a-z][a-z0-9+.-]*:/i.test(cfg.endpoint)) throw new Error('--endpoint is a path on --base-url, not a URL');
  const kind = endpointKind(cfg.endpoint);
  const headers: Record<string, string> = cfg.apiKey ? { authorization: `Bearer ${cfg.apiKey}` } : {};
  const model = await resolveModel(cfg, headers);
  const requests = buildWorkload(cfg);
  const settings: RequestSettings = {
    url: joinUrl(cfg.baseUrl, cfg.endpoint),
    kind,
    model,
    ignoreEos: cfg.ignoreEos,
    extraBody: cfg.extraBody,
    headers,
    timeoutMs: cfg.timeoutS * 1000,
  };
  const backend = kind === 'chat' ? 'openai-chat' : 'openai';
  const date = new Date();

  if (cfg.numWarmups > 0) {
    io.err(`Warming up with ${cfg.numWarmups} request(s)...\n`);
    const warm = requests.slice(0, Math.min(cfg.numWarmups, requests.length));
    const w = await runScheduled(warm, new Array(warm.length).fill(0), cfg.maxConcurrency, (r) =>
      sendRequest(settings, r),
    );
    const bad = w.results.find((r) => !r.success);
    // A failing warm-up means the configuration is wrong (model name, lengths): stop before the real run.
    if (bad) throw new Error(`warm-up request failed: ${bad.error}`);
  }

  const rateText = Number.isFinite(cfg.requestRate) ? String(cfg.requestRate) : 'inf';
  io.out(`Traffic request rate: ${rateText}\n`);
  io.out(`Burstiness factor: ${cfg.burstiness}${cfg.burstiness === 1 ? ' (Poisson process)' : ' (gamma process)'}\n`);
  io.out(`Maximum request concurrency: ${cfg.maxConcurrency ?? 'None'}\n`);

  const offsets = arrivalOffsets(requests.length, cfg.requestRate, cfg.seed, cfg.burstiness);
  const progress = (n: number): void => {
    if (io.progress) io.err(`\r${n}/${requests.length} requests done`);
  };
  const run = await runScheduled(requests, offsets, cfg.maxConcurrency, (r) => sendRequest(settings, r), progress);
  if (io.progress) io.err('\n');

  const metrics = computeMetrics(run.results, run.end - run.start, run.start, cfg.percentiles);
  io.out(
    formatReport(metrics, {
      maxConcurrency: cfg.maxConcurrency,
      requestRate: cfg.requestRate,
      percentiles: cfg.percentiles,
      metrics: cfg.percentileMetrics,
    }),
  );
  const failures = run.results.filter((r) => !r.success);
  if (failures.length > 0) {
    io.out(`First errors (${failures.length} failed):\n`);
    for (const f of failures.slice(0, 3)) io.out(`  ${f.error}\n`);
  }

  const json: Record<string, unknown> = {
    date: timestamp(date),
    backend,
    endpoint_type: backend,
    label: cfg.label ?? null,
    model_id: model,
    tokenizer_id: cfg.tokenizerId ?? null,
    base_url: cfg.baseUrl,
    endpoint: cfg.endpoint,
    dataset_name: cfg.datasetName,
    prompt_format: cfg.promptFormat,
    vocab_size: cfg.vocabSize,
    num_prompts: cfg.numPrompts,
    seed: cfg.seed,
    // JSON has no Infinity: vLLM writes "inf" too.
    request_rate: Number.isFinite(cfg.requestRate) ? cfg.requestRate : 'inf',
    burstiness: cfg.burstiness,
    max_concurrency: cfg.maxConcurrency,
    ignore_eos: cfg.ignoreEos,
    ...(cfg.datasetName === 'random'
      ? {
          random_input_len: cfg.random.inputLen,
          random_output_len: cfg.random.outputLen,
          random_prefix_len: cfg.random.prefixLen,
          random_range_ratio: cfg.random.rangeRatio,
        }
      : {
          prefix_repetition_prefix_len: cfg.prefixRepetition.prefixLen,
          prefix_repetition_suffix_len: cfg.prefixRepetition.suffixLen,
          prefix_repetition_num_prefixes: cfg.prefixRepetition.numPrefixes,
          prefix_repetition_output_len: cfg.prefixRepetition.outputLen,
        }),
    ...metrics,
  };
  if (cfg.saveDetailed) {
    // Per-request arrays in vLLM's layout (seconds, request order).
    json.input_lens = run.results.map((r) => r.promptLen);
    json.output_lens = run.results.map((r) => (r.success ? r.outputTokens : 0));
    json.ttfts = run.results.map((r) => r.ttft);
    json.itls = run.results.map((r) => r.itl);
    json.generated_texts = run.results.map((r) => r.generatedText);
    json.errors = run.results.map((r) => r.error);
  }

  let savedTo: string | undefined;
  if (cfg.saveResult) {
    const conc = cfg.maxConcurrency === null ? '' : `-concurrency${cfg.maxConcurrency}`;
    const base = (
      model
        .split('/')
        .filter((s) => s !== '')
        .pop() ?? 'model'
    ).replace(/[^\w.-]/g, '_');
    const name = cfg.resultFilename ?? `${backend}-${rateText}qps${conc}-${base}-${timestamp(date)}.json`;
    const dir = cfg.resultDir ?? '.';
    mkdirSync(dir, { recursive: true });
    savedTo = join(dir, name);
    writeFileSync(savedTo, `${JSON.stringify(json, null, 2)}\n`);
    io.out(`Saved result to ${savedTo}\n`);
  }
  return { metrics, results: run.results, json, savedTo };
}
