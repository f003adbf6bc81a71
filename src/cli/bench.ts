/**
 * `tsdeploy bench serve`: flags (vLLM bench serve's names where it has them) → BenchServeConfig.
 * The client works against any OpenAI-compatible server; nothing here needs the engine.
 */
import { type BenchServeConfig, benchServe, type DatasetName } from '../bench/serve.ts';
import { LATENCY_METRICS, type LatencyMetric } from '../bench/metrics.ts';
import { loadHfTokenizer } from '../text/load.ts';
import { type FlagSpec, formatHelp, type ParsedFlags, parseFlags, UsageError } from './args.ts';

const FLAGS: FlagSpec[] = [
  { name: 'base-url', type: 'string', help: 'server to benchmark', defaultText: 'http://127.0.0.1:8000' },
  { name: 'endpoint', type: 'string', help: '/v1/completions or /v1/chat/completions', defaultText: '/v1/completions' },
  { name: 'model', type: 'string', help: 'model name to send', defaultText: 'the first of GET /v1/models' },
  { name: 'tokenizer', type: 'string', help: 'HF tokenizer directory: vocab size, and id → text for text prompts' },
  { name: 'dataset-name', type: 'string', help: 'random or prefix-repetition', defaultText: 'random' },
  { name: 'num-prompts', type: 'int', help: 'requests to send', defaultText: '100' },
  { name: 'random-input-len', type: 'int', help: 'random: prompt tokens after the prefix', defaultText: '1024' },
  { name: 'random-output-len', type: 'int', help: 'random: tokens to generate', defaultText: '128' },
  { name: 'random-prefix-len', type: 'int', help: 'random: tokens shared by all prompts', defaultText: '0' },
  {
    name: 'random-range-ratio',
    type: 'float',
    help: 'random: lengths vary in [len·(1−r), len·(1+r)]',
    defaultText: '0',
  },
  {
    name: 'prefix-repetition-prefix-len',
    type: 'int',
    help: 'prefix-repetition: shared prefix tokens (alias --prefix-len)',
    defaultText: '256',
  },
  {
    name: 'prefix-repetition-suffix-len',
    type: 'int',
    help: 'prefix-repetition: own suffix tokens (alias --suffix-len)',
    defaultText: '256',
  },
  {
    name: 'prefix-repetition-num-prefixes',
    type: 'int',
    help: 'prefix-repetition: distinct prefixes (alias --num-prefixes)',
    defaultText: '10',
  },
  {
    name: 'prefix-repetition-output-len',
    type: 'int',
    help: 'prefix-repetition: tokens to generate (alias --output-len)',
    defaultText: '128',
  },
  { name: 'prefix-len', type: 'int', help: 'alias of --prefix-repetition-prefix-len' },
  { name: 'suffix-len', type: 'int', help: 'alias of --prefix-repetition-suffix-len' },
  { name: 'num-prefixes', type: 'int', help: 'alias of --prefix-repetition-num-prefixes' },
  { name: 'output-len', type: 'int', help: 'alias of --prefix-repetition-output-len' },
  {
    name: 'vocab-size',
    type: 'int',
    help: 'prompt ids are drawn from [3, vocab-size)',
    defaultText: "256, or the tokenizer's",
  },
  { name: 'prompt-format', type: 'string', help: 'ids (list[int] prompt) or text', defaultText: 'ids; text for chat' },
  { name: 'seed', type: 'int', help: 'seed of prompts and arrival times', defaultText: '0' },
  {
    name: 'request-rate',
    type: 'string',
    help: 'requests/s (Poisson arrivals) or inf (all at once)',
    defaultText: 'inf',
  },
  { name: 'burstiness', type: 'float', help: 'gamma shape of the arrival gaps; 1 = Poisson', defaultText: '1' },
  { name: 'max-concurrency', type: 'int', help: 'cap on requests in flight', defaultText: 'none' },
  { name: 'ignore-eos', type: 'bool', help: 'send ignore_eos and min_tokens = max_tokens (exact output lengths)' },
  { name: 'temperature', type: 'float', help: 'sampling temperature', defaultText: '0' },
  { name: 'top-p', type: 'float', help: 'top_p to send' },
  { name: 'top-k', type: 'int', help: 'top_k to send' },
  { name: 'extra-body', type: 'string', help: 'JSON object merged into every request body' },
  { name: 'api-key', type: 'string', help: 'sent as Authorization: Bearer' },
  { name: 'request-timeout', type: 'float', help: 'seconds before a request counts as failed', defaultText: '3600' },
  { name: 'num-warmups', type: 'int', help: 'uncounted requests sent first (a failure aborts)', defaultText: '0' },
  { name: 'metric-percentiles', type: 'string', help: 'comma-separated percentiles to report', defaultText: '99' },
  {
    name: 'percentile-metrics',
    type: 'string',
    help: 'latency sections to print',
    defaultText: LATENCY_METRICS.join(','),
  },
  { name: 'save-result', type: 'bool', help: 'write the result JSON' },
  { name: 'save-detailed', type: 'bool', help: 'include per-request arrays in the JSON' },
  { name: 'result-dir', type: 'string', help: 'directory of the result JSON', defaultText: '.' },
  {
    name: 'result-filename',
    type: 'string',
    help: 'file name of the result JSON',
    defaultText: '<backend>-<rate>qps-…-<date>.json',
  },
  { name: 'label', type: 'string', help: 'free-form label stored in the JSON' },
  { name: 'help', type: 'bool', help: 'show this help' },
];

export function benchHelp(): string {
  const flags = formatHelp('tsdeploy bench serve', FLAGS).replace(/^usage: .*\n\n/, '');
  return `usage: tsdeploy bench serve [flags]\n\nBenchmarks an OpenAI-compatible server with synthetic streaming requests.\n\n${flags}`;
}

function num(f: ParsedFlags, name: string, def: number): number {
  return (f[name] as number | undefined) ?? def;
}

function positive(name: string, v: number, allowZero = false): number {
  if (allowZero ? v < 0 : v <= 0) throw new UsageError(`--${name} must be ${allowZero ? '≥ 0' : '> 0'}, got ${v}`);
  return v;
}

function parseRate(text: string | undefined): number {
  if (text === undefined || /^inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  const v = Number(text);
  if (text.trim() === '' || !(v > 0) || !Number.isFinite(v))
    throw new UsageError(`--request-rate expects a positive number or inf, got '${text}'`);
  return v;
}

function parseList<T>(name: string, text: string, item: (s: string) => T): T[] {
  const out = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(item);
  if (out.length === 0) throw new UsageError(`--${name} is empty`);
  return out;
}

export function parseBenchArgs(argv: string[]): BenchServeConfig | 'help' {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === 'help') return 'help';
  if (sub !== 'serve') throw new UsageError(`unknown bench subcommand '${sub}' (known: serve)`);
  let f: ParsedFlags;
  try {
    f = parseFlags(rest, FLAGS, 'bench serve');
  } catch (err) {
    // The shared parser names `tsdeploy serve` in its hint; point at the right help.
    if (err instanceof UsageError)
      throw new UsageError(err.message.replace('tsdeploy serve --help', 'tsdeploy bench serve --help'));
    throw err;
  }
  if (f.help) return 'help';

  const endpoint = (f.endpoint as string | undefined) ?? '/v1/completions';
  const isChat = /chat\/completions\/?$/.test(endpoint);
  const datasetName = ((f['dataset-name'] as string | undefined) ?? 'random').replace(/_/g, '-');
  if (datasetName !== 'random' && datasetName !== 'prefix-repetition')
    throw new UsageError(`unknown --dataset-name '${datasetName}' (known: random, prefix-repetition)`);
  const promptFormat = (f['prompt-format'] as string | undefined) ?? (isChat ? 'text' : 'ids');
  if (promptFormat !== 'ids' && promptFormat !== 'text')
    throw new UsageError(`--prompt-format must be ids or text, got '${promptFormat}'`);
  if (isChat && promptFormat === 'ids') throw new UsageError('chat endpoints take text prompts (--prompt-format text)');

  const tokenizerDir = f.tokenizer as string | undefined;
  const tokenizer = tokenizerDir === undefined ? undefined : loadHfTokenizer(tokenizerDir);
  const vocabSize = num(f, 'vocab-size', tokenizer?.vocabSize ?? 256);
  if (vocabSize <= 3) throw new UsageError(`--vocab-size must be > 3, got ${vocabSize}`);

  const extraBody: Record<string, unknown> = { temperature: num(f, 'temperature', 0) };
  if (f['top-p'] !== undefined) extraBody.top_p = f['top-p'];
  if (f['top-k'] !== undefined) extraBody.top_k = f['top-k'];
  if (f['extra-body'] !== undefined) {
    let extra: unknown;
    try {
      extra = JSON.parse(f['extra-body'] as string);
    } catch {
      throw new UsageError('--extra-body must be a JSON object');
    }
    if (!extra || typeof extra !== 'object' || Array.isArray(extra))
      throw new UsageError('--extra-body must be a JSON object');
    Object.assign(extraBody, extra);
  }

  const percentiles = parseList('metric-percentiles', (f['metric-percentiles'] as string | undefined) ?? '99', (s) => {
    const p = Number(s);
    if (!(p > 0 && p < 100)) throw new UsageError(`--metric-percentiles: '${s}' is not in (0, 100)`);
    return p;
  });
  const percentileMetrics = parseList(
    'percentile-metrics',
    (f['percentile-metrics'] as string | undefined) ?? LATENCY_METRICS.join(','),
    (s) => {
      if (!(LATENCY_METRICS as readonly string[]).includes(s))
        throw new UsageError(`--percentile-metrics: unknown '${s}' (known: ${LATENCY_METRICS.join(', ')})`);
      return s as LatencyMetric;
    },
  );

  const maxConcurrency =
    f['max-concurrency'] === undefined ? null : positive('max-concurrency', f['max-concurrency'] as number);
  const baseUrl = (f['base-url'] as string | undefined) ?? 'http://127.0.0.1:8000';
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(`--base-url must be an http(s) URL, got '${baseUrl}'`);
  }

  return {
    baseUrl,
    endpoint,
    model: f.model as string | undefined,
    datasetName: datasetName as DatasetName,
    numPrompts: positive('num-prompts', num(f, 'num-prompts', 100)),
    seed: positive('seed', num(f, 'seed', 0), true),
    vocabSize,
    promptFormat,
    decode: tokenizer ? (ids) => tokenizer.decode(ids) : undefined,
    tokenizerId: tokenizerDir,
    random: {
      inputLen: positive('random-input-len', num(f, 'random-input-len', 1024), true),
      outputLen: positive('random-output-len', num(f, 'random-output-len', 128)),
      prefixLen: positive('random-prefix-len', num(f, 'random-prefix-len', 0), true),
      rangeRatio: positive('random-range-ratio', num(f, 'random-range-ratio', 0), true),
    },
    prefixRepetition: {
      prefixLen: positive('prefix-len', num(f, 'prefix-len', num(f, 'prefix-repetition-prefix-len', 256)), true),
      suffixLen: positive('suffix-len', num(f, 'suffix-len', num(f, 'prefix-repetition-suffix-len', 256)), true),
      numPrefixes: positive('num-prefixes', num(f, 'num-prefixes', num(f, 'prefix-repetition-num-prefixes', 10))),
      outputLen: positive('output-len', num(f, 'output-len', num(f, 'prefix-repetition-output-len', 128))),
    },
    requestRate: parseRate(f['request-rate'] as string | undefined),
    burstiness: positive('burstiness', num(f, 'burstiness', 1)),
    maxConcurrency,
    ignoreEos: f['ignore-eos'] === true,
    extraBody,
    apiKey: f['api-key'] as string | undefined,
    timeoutS: positive('request-timeout', num(f, 'request-timeout', 3600)),
    numWarmups: positive('num-warmups', num(f, 'num-warmups', 0), true),
    percentiles,
    percentileMetrics,
    saveResult: f['save-result'] === true,
    saveDetailed: f['save-detailed'] === true,
    resultDir: f['result-dir'] as string | undefined,
    resultFilename: f['result-filename'] as string | undefined,
    label: f.label as string | undefined,
  };
}

/** Runs the benchmark; the exit code is 1 when any request failed (so scripts notice). */
export async function runBench(cfg: BenchServeConfig): Promise<number> {
  const { metrics } = await benchServe(cfg, {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    progress: process.stderr.isTTY === true,
  });
  return metrics.failed > 0 ? 1 : 0;
}
