/**
 * `npm run bench:serve`: the serving benchmark of issue 4, end to end through real server processes.
 *
 * 1. Scaling with concurrency: the ernie-0.3b synthetic model (Q8_0 GGUF), 128-token prompts,
 *    64 output tokens (ignore_eos + min_tokens = max_tokens), at 1, 4 and 16 concurrent clients.
 * 2. Prefix caching: a shared-prefix workload with caching on and off (`--no-enable-prefix-caching`).
 *
 * Each scenario starts its own `tsdeploy serve`, runs `tsdeploy bench serve`'s client in-process,
 * and the medians of `--repeats` runs go into the README between the bench:serve markers.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchServer } from '../src/bench/launch.ts';
import type { MetricsRecord } from '../src/bench/metrics.ts';
import { benchServe } from '../src/bench/serve.ts';
import { parseBenchArgs } from '../src/cli/bench.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODEL_DIR = `${ROOT}bench/models/ernie-0.3b`;
const MODEL = `${MODEL_DIR}/ernie-0.3b.q8_0.gguf`;
const README = `${ROOT}README.md`;
const RESULTS = `${ROOT}bench/results`;

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const repeats = flag('repeats', 3);
const threads = flag('threads', 2);
const quick = args.includes('--quick');

function ensureModel(): void {
  if (existsSync(MODEL)) return;
  const r = spawnSync(
    process.execPath,
    [`${ROOT}bin/tsdeploy.mjs`, 'make-model', '--shape', 'ernie-0.3b', '--out', MODEL_DIR, '--formats', 'gguf-q8_0'],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error('make-model failed');
}

interface Scenario {
  name: string;
  serverArgs: string[];
  benchArgs: string[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function run(s: Scenario): Promise<MetricsRecord[]> {
  const server = await launchServer(['--model', MODEL, '--threads', String(threads), ...s.serverArgs], 600_000);
  try {
    const out: MetricsRecord[] = [];
    for (let r = 0; r < repeats; r++) {
      // A new seed per repeat: prefix caching must not turn later repeats into cache hits.
      const cfg = parseBenchArgs(['serve', '--base-url', server.url, '--seed', String(1000 * r + 7), ...s.benchArgs]);
      if (cfg === 'help') throw new Error('unexpected help');
      const res = await benchServe(cfg, { out: () => {}, err: () => {}, progress: false });
      if (res.metrics.failed > 0) throw new Error(`${s.name}: ${res.metrics.failed} requests failed`);
      out.push(res.metrics);
      process.stderr.write(
        `${s.name} #${r + 1}: ${res.metrics.output_throughput.toFixed(1)} out tok/s, ` +
          `TTFT p50 ${res.metrics.median_ttft_ms.toFixed(0)} ms\n`,
      );
    }
    return out;
  } finally {
    await server.stop();
  }
}

const randomArgs = (concurrency: number, prompts: number): string[] => [
  '--dataset-name',
  'random',
  '--random-input-len',
  '128',
  '--random-output-len',
  quick ? '16' : '64',
  '--vocab-size',
  '512',
  '--ignore-eos',
  '--num-prompts',
  String(prompts),
  '--max-concurrency',
  String(concurrency),
  '--num-warmups',
  '1',
];

const prefixArgs = [
  '--dataset-name',
  'prefix-repetition',
  '--prefix-len',
  quick ? '256' : '512',
  '--suffix-len',
  '32',
  '--num-prefixes',
  '2',
  '--output-len',
  '16',
  '--vocab-size',
  '512',
  '--ignore-eos',
  '--num-prompts',
  quick ? '8' : '24',
  '--max-concurrency',
  '4',
];

async function main(): Promise<void> {
  ensureModel();
  const scale = quick ? 1 : 3;
  const concurrency: [number, number][] = [
    [1, 4 * scale],
    [4, 8 * scale],
    [16, 16 * scale],
  ];
  const rows: string[] = [];
  const json: Record<string, MetricsRecord[]> = {};
  const fmt = (x: number, digits = 1): string => x.toFixed(digits);
  let single = 0;
  for (const [c, n] of concurrency) {
    const name = `random 128→${quick ? 16 : 64}, ${c} concurrent`;
    const ms = await run({ name, serverArgs: ['--max-num-seqs', '32'], benchArgs: randomArgs(c, n) });
    json[name] = ms;
    const out = median(ms.map((m) => m.output_throughput));
    if (c === 1) single = out;
    rows.push(
      `| ${name} | ${n} | ${fmt(out)} | ${fmt(out / single, 2)}× | ${fmt(median(ms.map((m) => m.median_ttft_ms)), 0)} | ` +
        `${fmt(median(ms.map((m) => m.p99_ttft_ms)), 0)} | ${fmt(median(ms.map((m) => m.median_tpot_ms)))} |`,
    );
  }
  for (const caching of [true, false]) {
    const name = `shared prefix, caching ${caching ? 'on' : 'off'}`;
    const ms = await run({
      name,
      serverArgs: [caching ? '--enable-prefix-caching' : '--no-enable-prefix-caching'],
      benchArgs: prefixArgs,
    });
    json[name] = ms;
    rows.push(
      `| ${name} | ${prefixArgs[prefixArgs.indexOf('--num-prompts') + 1]} | ${fmt(median(ms.map((m) => m.output_throughput)))} | – | ` +
        `${fmt(median(ms.map((m) => m.median_ttft_ms)), 0)} | ${fmt(median(ms.map((m) => m.p99_ttft_ms)), 0)} | ` +
        `${fmt(median(ms.map((m) => m.median_tpot_ms)))} |`,
    );
  }

  const table = [
    `Measured ${new Date().toISOString().slice(0, 10)} on this project's machine (${threads} threads, load average ` +
      `${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]} at the end), ernie-0.3b synthetic model, Q8_0 GGUF; ` +
      `medians of ${repeats} runs (\`npm run bench:serve\`).`,
    '',
    '| workload | requests | output tok/s | vs 1 client | TTFT p50 (ms) | TTFT p99 (ms) | TPOT p50 (ms) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  process.stdout.write(`${table}\n`);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}/serving.json`, JSON.stringify(json, null, 2));
  if (!quick) {
    const readme = readFileSync(README, 'utf8');
    const start = '<!-- bench:serve:start -->';
    const end = '<!-- bench:serve:end -->';
    const i = readme.indexOf(start);
    const j = readme.indexOf(end);
    if (i < 0 || j < 0) throw new Error('README has no bench:serve markers');
    writeFileSync(README, `${readme.slice(0, i + start.length)}\n${table}\n${readme.slice(j)}`);
  }
}

await main();
