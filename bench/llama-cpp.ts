/**
 * The llama.cpp side of the engine benchmark, through node-llama-cpp 3.22.1 (prebuilt CPU
 * binaries from npm). node-llama-cpp is a dependency of bench/package.json only, installed into
 * bench/node_modules on first use, and imported dynamically through the small interfaces below, so
 * `npm run check` type-checks without it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EngineDriver, now, promptTokens, type TestSpec, type Timing, tokensPerSequence } from './harness.ts';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const PACKAGE = 'node-llama-cpp';

// The parts of node-llama-cpp's API the benchmark uses (its own types live in bench/node_modules).
interface Llama {
  readonly systemInfo: string;
  readonly llamaCppRelease: { repo: string; release: string };
  readonly buildType: string;
  loadModel(options: { modelPath: string; gpuLayers?: number }): Promise<LlamaModel>;
  dispose(): Promise<void>;
}
interface LlamaModel {
  createContext(options: {
    contextSize: number;
    batchSize: number;
    sequences: number;
    threads: number;
  }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}
interface LlamaContext {
  readonly contextSize: number;
  readonly batchSize: number;
  readonly flashAttention: boolean;
  readonly currentThreads: number;
  getSequence(): LlamaContextSequence;
  dispose(): Promise<void>;
}
interface LlamaContextSequence {
  evaluate(
    tokens: number[],
    options: { temperature: number; yieldEogToken: boolean },
  ): AsyncGenerator<number, void, undefined | number | number[]>;
  clearHistory(): Promise<void>;
}
interface NodeLlamaCpp {
  getLlama(options: {
    gpu: false;
    build: 'never';
    usePrebuiltBinaries: boolean;
    skipDownload: boolean;
    progressLogs: boolean;
    logLevel: string;
    maxThreads: number;
  }): Promise<Llama>;
}

/** Greedy, and an end-of-generation token is yielded like any other so every run has the full length. */
const GREEDY = { temperature: 0, yieldEogToken: true };

function installedVersion(): string | undefined {
  const pkg = join(BENCH_DIR, 'node_modules', PACKAGE, 'package.json');
  if (!existsSync(pkg)) return undefined;
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/**
 * Installs bench/package.json's dependencies into bench/node_modules unless they are there.
 * --omit=optional keeps npm from fetching node-llama-cpp's CUDA, Vulkan and foreign-platform
 * binary packages (≈640 MB); bench/package.json names the linux-x64 CPU package explicitly.
 * NODE_LLAMA_CPP_SKIP_DOWNLOAD stops its postinstall from ever trying to download or build.
 */
export function ensureNodeLlamaCpp(): string {
  const wanted = (
    JSON.parse(readFileSync(join(BENCH_DIR, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    }
  ).dependencies;
  const platformPkg = `@node-llama-cpp/${process.platform}-${process.arch}`;
  if (!wanted[platformPkg]) {
    throw new Error(
      `bench/package.json names no prebuilt node-llama-cpp package for ${process.platform}-${process.arch}; ` +
        `add "${platformPkg}": "${wanted[PACKAGE]}" to its dependencies`,
    );
  }
  const platformInstalled = existsSync(join(BENCH_DIR, 'node_modules', platformPkg, 'package.json'));
  if (installedVersion() === wanted[PACKAGE] && platformInstalled) return wanted[PACKAGE];

  // `npm install`, not `npm ci`: it follows bench/package-lock.json, but `npm ci` rejects that lock
  // because the registry here serves no mac/win packages of node-llama-cpp for it to list.
  const args = ['install', '--prefix', BENCH_DIR, '--omit=optional', '--no-audit', '--no-fund'];
  console.error(`bench: installing ${PACKAGE} ${wanted[PACKAGE]} into bench/node_modules (npm ${args.join(' ')})`);
  const r = spawnSync('npm', args, {
    stdio: 'inherit',
    env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
  });
  if (r.status !== 0) throw new Error(`npm install --prefix bench failed (exit ${r.status ?? r.signal})`);
  const v = installedVersion();
  if (v !== wanted[PACKAGE]) throw new Error(`bench/node_modules holds ${PACKAGE} ${v}, not ${wanted[PACKAGE]}`);
  return v;
}

export async function loadLlama(threads: number): Promise<Llama> {
  const specifier: string = PACKAGE; // a variable: tsc must not resolve it (bench/node_modules may be absent)
  const mod = (await import(specifier)) as NodeLlamaCpp;
  return mod.getLlama({
    gpu: false,
    build: 'never',
    usePrebuiltBinaries: true,
    skipDownload: true,
    progressLogs: false,
    logLevel: 'error',
    maxThreads: threads,
  });
}

/**
 * Calls `onDecode` on every llama_decode of `context`, to check that a batched step is one decode.
 * This reaches into node-llama-cpp's internals (the addon context `_ctx`, pinned version 3.22.1);
 * returns undefined, and the check is skipped, when they are not there.
 */
function countDecodes(context: LlamaContext, onDecode: () => void): number | undefined {
  const holder = context as unknown as { _ctx?: Record<string | symbol, unknown> };
  const inner = holder._ctx;
  if (!inner || typeof inner.decodeBatch !== 'function') return undefined;
  holder._ctx = new Proxy(inner, {
    get(target, prop) {
      const value = target[prop];
      if (typeof value !== 'function') return value;
      if (prop === 'decodeBatch') {
        return (...args: unknown[]) => {
          onDecode();
          return value.apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
  return 0;
}

/** Context size per sequence: node-llama-cpp rounds it to a multiple of 256 anyway. */
function contextSizeFor(tokens: number): number {
  return Math.ceil((tokens + 16) / 256) * 256;
}

export class LlamaCppDriver implements EngineDriver {
  readonly name = 'llama.cpp';
  private context: LlamaContext | undefined;
  private sequences: LlamaContextSequence[] = [];
  /** context facts for the report (batch size, flash attention, threads) */
  contextInfo = '';
  /** llama_decode calls so far, when the check below could be installed */
  private decodes: number | undefined;

  private constructor(
    private readonly model: LlamaModel,
    private readonly threads: number,
  ) {}

  static async load(llama: Llama, modelPath: string, threads: number): Promise<LlamaCppDriver> {
    return new LlamaCppDriver(await llama.loadModel({ modelPath, gpuLayers: 0 }), threads);
  }

  async prepare(test: TestSpec): Promise<void> {
    const seqs = test.kind === 'batch' ? test.seqs : 1;
    const perSeq = tokensPerSequence(test);
    const prompt = test.kind === 'pp' ? test.tokens : test.prompt * seqs;
    const context = await this.model.createContext({
      contextSize: contextSizeFor(perSeq),
      batchSize: Math.max(512, prompt),
      sequences: seqs,
      threads: this.threads,
    });
    this.context = context;
    this.sequences = Array.from({ length: seqs }, () => context.getSequence());
    this.decodes = countDecodes(context, () => {
      this.decodes = (this.decodes ?? 0) + 1;
    });
    this.contextInfo = `batchSize ${context.batchSize}, flash attention ${context.flashAttention ? 'on' : 'off'}, threads ${context.currentThreads}`;
  }

  async run(test: TestSpec, firstTokens?: number[]): Promise<Timing> {
    if (!this.context) throw new Error('llama.cpp driver: run() before prepare()');
    await Promise.all(this.sequences.map((s) => s.clearHistory()));

    if (test.kind === 'pp') {
      const gen = this.sequences[0].evaluate(promptTokens(test.tokens), GREEDY);
      const t0 = now();
      const first = await gen.next();
      const seconds = now() - t0;
      await gen.return();
      if (first.done) throw new Error('llama.cpp: no token after the prompt');
      return { tokens: test.tokens, seconds };
    }

    if (test.kind === 'tg') {
      const gen = this.sequences[0].evaluate(promptTokens(test.prompt), GREEDY);
      const first = await gen.next(); // prefill + first token: not timed
      const tokens: number[] = first.done ? [] : [first.value];
      const t0 = now();
      for (let i = 0; i < test.tokens; i++) {
        const r = await gen.next();
        if (r.done) throw new Error('llama.cpp: generation ended early');
        tokens.push(r.value);
      }
      const seconds = now() - t0;
      await gen.return();
      firstTokens?.push(...tokens);
      return { tokens: test.tokens, seconds };
    }

    // All sequences' evaluate() calls queued in the same tick go into one batch (one llama_decode per step).
    const gens = this.sequences.map((s, i) => s.evaluate(promptTokens(test.prompt, i + 1), GREEDY));
    const firsts = await Promise.all(gens.map((g) => g.next())); // prompts + first tokens: not timed
    if (firsts.some((r) => r.done)) throw new Error('llama.cpp: a sequence produced no first token');
    let tokens = 0;
    const decodesBefore = this.decodes;
    const t0 = now();
    // Lock-step, like a serving engine's step: every sequence asks for its next token in the same
    // tick, so they share one decode. (Free-running consumers fragment node-llama-cpp's batches.)
    for (let step = 0; step < test.steps; step++) {
      const rs = await Promise.all(gens.map((g) => g.next()));
      if (rs.some((r) => r.done)) throw new Error('llama.cpp: generation ended early');
      tokens += rs.length;
    }
    const seconds = now() - t0;
    if (decodesBefore !== undefined && this.decodes! - decodesBefore !== test.steps)
      throw new Error(
        `llama.cpp: ${test.steps} steps took ${this.decodes! - decodesBefore} decodes (fragmented batches)`,
      );
    await Promise.all(gens.map((g) => g.return()));
    return { tokens, seconds };
  }

  async finish(): Promise<void> {
    const context = this.context;
    this.context = undefined;
    this.sequences = [];
    await context?.dispose();
  }

  async dispose(): Promise<void> {
    await this.finish();
    await this.model.dispose();
  }
}
