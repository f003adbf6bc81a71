/**
 * `npm run bench:engine`: tsdeploy's engine against llama.cpp (node-llama-cpp), side by side in one
 * run, on the synthetic ernie-0.3b model in each GGUF type.
 *
 *   npm run bench:engine -- [--types f32,bf16,q8_0,q4_0] [--repeats 3] [--threads 2] [--quick] [--no-readme]
 *
 * Per type and test: one warm-up run of each engine, then `repeats` runs of each, interleaved
 * (A B, B A, A B, …) so slow drift of the machine's load hits both; medians are reported. Writes
 * bench/results/engine-<time>.json and, unless --quick or --no-readme, the table in README.md
 * between the bench:engine markers. Not a test: CI never runs it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type EngineDriver, median, type TestSpec, type Timing, testPlan, warmupOf } from './harness.ts';
import { ensureNodeLlamaCpp, LlamaCppDriver, loadLlama } from './llama-cpp.ts';
import { configureThreads, KV_CACHE_DTYPE, TsdeployDriver, tsdeployIsa } from './tsdeploy.ts';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const SHAPE = 'ernie-0.3b';
const MODEL_DIR = join(BENCH_DIR, 'models', SHAPE);
const TYPES = ['f32', 'bf16', 'q8_0', 'q4_0'] as const;
const START_MARKER = '<!-- bench:engine:start -->';
const END_MARKER = '<!-- bench:engine:end -->';

interface Row {
  type: string;
  test: string;
  tsdeploy: number[];
  llamaCpp: number[];
  tsdeployMedian: number;
  llamaCppMedian: number;
  ratio: number;
  /** fastest run / fastest run: less sensitive to runs that other processes slowed down */
  bestRatio: number;
  loadAvg: number;
}

function parseCli(): { types: string[]; repeats: number; threads: number; quick: boolean; readme: boolean } {
  const { values } = parseArgs({
    options: {
      types: { type: 'string', default: TYPES.join(',') },
      repeats: { type: 'string' },
      threads: { type: 'string', default: '2' },
      quick: { type: 'boolean', default: false },
      'no-readme': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(
      'npm run bench:engine -- [--types f32,bf16,q8_0,q4_0] [--repeats N (3; --quick: 1)] [--threads N (2)] [--quick] [--no-readme]',
    );
    process.exit(0);
  }
  const types = values.types
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
  for (const t of types)
    if (!(TYPES as readonly string[]).includes(t)) throw new Error(`unknown type '${t}' (${TYPES.join(', ')})`);
  const repeats = Number(values.repeats ?? (values.quick ? 1 : 3));
  const threads = Number(values.threads);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error('--repeats must be a positive integer');
  if (!Number.isInteger(threads) || threads < 1) throw new Error('--threads must be a positive integer');
  return { types, repeats, threads, quick: values.quick, readme: !values.quick && !values['no-readme'] };
}

/** Runs make-model for the wanted GGUFs; it skips outputs that are already current within a second. */
function ensureModels(types: string[]): void {
  const args = ['bin/tsdeploy.mjs', 'make-model', '--shape', SHAPE, '--out', relative(ROOT, MODEL_DIR)];
  args.push('--formats', types.map((t) => `gguf-${t}`).join(','));
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make-model failed (exit ${r.status ?? r.signal}):\n${r.stdout}`);
}

function cpuModel(): string {
  const r = spawnSync('lscpu', [], { encoding: 'utf8' });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('Model name:'));
  return line ? line.slice('Model name:'.length).trim() : (cpus()[0]?.model ?? 'unknown CPU');
}

/** The commit the TypeScript side runs from, and when the addon binary it loads was built. */
function tsdeployRevision(): string {
  const r = spawnSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8' });
  const rev = r.status === 0 ? r.stdout.trim() : 'unknown commit';
  const addon = join(ROOT, 'build', 'Release', 'tsdeploy_native.node');
  const built = existsSync(addon) ? statSync(addon).mtime.toISOString().slice(0, 16).replace('T', ' ') : '?';
  return `${rev}, addon built ${built} UTC`;
}

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const load1 = (): number => loadavg()[0];

async function timed(driver: EngineDriver, test: TestSpec, sink: number[], tokens?: number[]): Promise<void> {
  const t: Timing = await driver.run(test, tokens);
  sink.push(t.tokens / t.seconds);
}

function commonPrefix(a: number[], b: number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function markdownTable(rows: Row[]): string {
  const lines = [
    '| type | test | tsdeploy tok/s | llama.cpp tok/s | tsdeploy / llama.cpp | best / best | load avg |',
    '|---|---|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.type} | ${r.test} | ${fmt(r.tsdeployMedian)} | ${fmt(r.llamaCppMedian)} | ${r.ratio.toFixed(2)} | ${r.bestRatio.toFixed(2)} | ${r.loadAvg.toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

function writeReadme(block: string): void {
  const path = join(ROOT, 'README.md');
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(START_MARKER);
  const end = text.indexOf(END_MARKER);
  const inner = `${START_MARKER}\n${block}\n${END_MARKER}`;
  const next =
    start >= 0 && end > start
      ? text.slice(0, start) + inner + text.slice(end + END_MARKER.length)
      : `${text.trimEnd()}\n\n## Performance\n\n${inner}\n`;
  writeFileSync(path, next);
}

async function main(): Promise<void> {
  const opts = parseCli();
  const plan = testPlan(opts.quick);
  const startedAt = new Date();
  const loadAtStart = loadavg();

  ensureModels(opts.types);
  const nlcVersion = ensureNodeLlamaCpp();
  const tsdThreads = configureThreads(opts.threads);
  const revision = tsdeployRevision();
  const llama = await loadLlama(opts.threads);
  const llamaRelease = `${llama.llamaCppRelease.repo} ${llama.llamaCppRelease.release}`;
  const llamaSystemInfo = llama.systemInfo;
  const machine = `${cpuModel()}, ${availableParallelism()} CPUs (nproc), Node ${process.version}`;
  console.log(`machine: ${machine}`);
  console.log(`tsdeploy ${revision}: addon ISA ${tsdeployIsa()}, threads ${tsdThreads}, ${KV_CACHE_DTYPE} KV cache`);
  console.log(`llama.cpp: node-llama-cpp ${nlcVersion} (${llama.buildType}, ${llamaRelease}), threads ${opts.threads}`);
  console.log(`tests: ${plan.map((t) => t.name).join(', ')}; ${opts.repeats} repeat(s) after a warm-up\n`);

  const rows: Row[] = [];
  const crossChecks: { type: string; agreeing: number; of: number }[] = [];
  let llamaContextInfo = '';
  for (const type of opts.types) {
    const path = join(MODEL_DIR, `${SHAPE}.${type}.gguf`);
    if (!existsSync(path)) throw new Error(`${path} is missing after make-model`);
    const tsd = new TsdeployDriver(path);
    const lcp = await LlamaCppDriver.load(llama, path, opts.threads);
    for (const test of plan) {
      const row: Row = {
        type,
        test: test.name,
        tsdeploy: [],
        llamaCpp: [],
        tsdeployMedian: 0,
        llamaCppMedian: 0,
        ratio: 0,
        bestRatio: 0,
        loadAvg: load1(),
      };
      await tsd.prepare(test);
      await lcp.prepare(test);
      llamaContextInfo = lcp.contextInfo;
      await tsd.run(warmupOf(test));
      await lcp.run(warmupOf(test));
      const tsdTokens: number[] = [];
      const lcpTokens: number[] = [];
      for (let r = 0; r < opts.repeats; r++) {
        const a = (): Promise<void> => timed(tsd, test, row.tsdeploy, r === 0 ? tsdTokens : undefined);
        const b = (): Promise<void> => timed(lcp, test, row.llamaCpp, r === 0 ? lcpTokens : undefined);
        if (r % 2 === 0) {
          await a();
          await b();
        } else {
          await b();
          await a();
        }
      }
      await tsd.finish();
      await lcp.finish();
      row.tsdeployMedian = median(row.tsdeploy);
      row.llamaCppMedian = median(row.llamaCpp);
      row.ratio = row.tsdeployMedian / row.llamaCppMedian;
      row.bestRatio = Math.max(...row.tsdeploy) / Math.max(...row.llamaCpp);
      row.loadAvg = (row.loadAvg + load1()) / 2;
      rows.push(row);
      if (test.kind === 'tg')
        crossChecks.push({ type, agreeing: commonPrefix(tsdTokens, lcpTokens), of: tsdTokens.length });
      console.log(
        `${type.padEnd(5)} ${test.name.padEnd(14)} tsdeploy ${fmt(row.tsdeployMedian).padStart(7)} tok/s   llama.cpp ${fmt(row.llamaCppMedian).padStart(7)} tok/s   ratio ${row.ratio.toFixed(2)}   (runs: ${row.tsdeploy.map(fmt).join(' ')} | ${row.llamaCpp.map(fmt).join(' ')}; load ${row.loadAvg.toFixed(1)})`,
      );
    }
    await tsd.dispose();
    await lcp.dispose();
  }
  await llama.dispose();

  const loadAtEnd = loadavg();
  const table = markdownTable(rows);
  const args = process.argv.slice(2).join(' ');
  const date = startedAt.toISOString().slice(0, 16).replace('T', ' ');
  const block = [
    `Run ${date} UTC: \`npm run bench:engine${args ? ` -- ${args}` : ''}\`, ${SHAPE} synthetic weights, ` +
      `median of ${opts.repeats} runs per engine after a warm-up, interleaved.`,
    `Machine: ${machine}; load average (1 min) ${loadAtStart[0].toFixed(1)} at the start, ${loadAtEnd[0].toFixed(1)} at the end.`,
    `tsdeploy (${revision}): native addon ${tsdeployIsa()}, threads ${tsdThreads}, ${KV_CACHE_DTYPE.toUpperCase()} KV cache. llama.cpp: node-llama-cpp ${nlcVersion} ` +
      `(${llamaRelease}, prebuilt CPU binary), threads ${opts.threads}, ${llamaContextInfo.replace(/, threads \d+$/, '')}, F16 KV cache.`,
    '',
    table,
  ].join('\n');
  console.log(`\n${table}\n`);
  for (const c of crossChecks)
    console.log(`greedy tg tokens, ${c.type}: the engines agree on the first ${c.agreeing} of ${c.of}`);

  const resultsDir = join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `engine-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const result = {
    date: startedAt.toISOString(),
    args,
    machine,
    loadAvgStart: loadAtStart,
    loadAvgEnd: loadAtEnd,
    tsdeploy: { revision, isa: tsdeployIsa(), threads: tsdThreads, kvCacheDtype: KV_CACHE_DTYPE },
    llamaCpp: {
      nodeLlamaCpp: nlcVersion,
      release: llamaRelease,
      threads: opts.threads,
      context: llamaContextInfo,
      systemInfo: llamaSystemInfo,
    },
    repeats: opts.repeats,
    tests: plan,
    rows,
    crossChecks,
  };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${relative(ROOT, file)}`);
  if (opts.readme) {
    writeReadme(block);
    console.log('updated README.md (Performance)');
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
