/**
 * Synthetic-model generator: writes a random-weight model of a named shape (synthetic/shapes.ts)
 * as a Hugging Face directory and/or GGUF files, with a real tokenizer (synthetic/tokenizer.ts).
 *
 * Values are generated once per chunk of rows and handed to every requested output, so writing all
 * five formats costs one pass of generation and memory for one chunk (a few MB), whatever the
 * model size. The same seed gives the same weights in every format (synthetic/random.ts).
 *
 * Benchmarks call this repeatedly, so finished outputs are recorded in `<outDir>/make-model.json`
 * with the parameters that produced them; an output whose record matches (and whose file size
 * still does) is skipped unless `force` is set.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join, resolve } from 'node:path';
import { createOutput, type Output, type OutputFormat, outputName } from './synthetic/outputs.ts';
import { colsOf, type PlannedTensor, planTensors, rowsOf } from './synthetic/plan.ts';
import { TensorRandom } from './synthetic/random.ts';
import { getShape, type HfDtype, type SyntheticShape } from './synthetic/shapes.ts';
import { DEFAULT_TOKENIZER_DIR, loadTokenizerSource } from './synthetic/tokenizer.ts';

export { OUTPUT_FORMATS, type OutputFormat } from './synthetic/outputs.ts';
export { getShape, type HfDtype, parameterCount, SHAPES, type SyntheticShape } from './synthetic/shapes.ts';
export { DEFAULT_TOKENIZER_DIR } from './synthetic/tokenizer.ts';

/** Bump when the bytes written for the same parameters change, so stale files are regenerated. */
export const GENERATOR_VERSION = 2;
const STAMP_FILE = 'make-model.json';
/** Elements generated per chunk (4 MiB of f32). */
const CHUNK_ELEMENTS = 1 << 20;

export interface MakeModelOptions {
  shape: string | SyntheticShape;
  outDir: string;
  formats: readonly OutputFormat[];
  /** safetensors dtype of the HF output (default bf16, like the published ERNIE checkpoint) */
  dtype?: HfDtype;
  seed?: number;
  /** rewrite outputs even when the stamp says they are current */
  force?: boolean;
  /** tokenizer source directory (default ../shared/models/stories260K) */
  tokenizerDir?: string;
  /** progress lines */
  log?: (line: string) => void;
}

export interface MadeOutput {
  format: OutputFormat;
  path: string;
  /** bytes on disk (for hf: the directory's files) */
  bytes: number;
  status: 'written' | 'skipped';
}

export interface MakeModelResult {
  outputs: MadeOutput[];
  /** time spent generating and writing */
  seconds: number;
}

/** What an output was made from; equal stamps mean the same bytes. */
interface Stamp {
  generator: number;
  shape: string;
  seed: number;
  format: OutputFormat;
  dtype?: HfDtype;
  tokenizer: string;
  bytes: number;
}

type StampFile = Record<string, Stamp>;

function readStamps(dir: string): StampFile {
  try {
    return JSON.parse(readFileSync(join(dir, STAMP_FILE), 'utf8')) as StampFile;
  } catch {
    return {};
  }
}

/** Size of a file, or of the files directly inside a directory. */
function sizeOf(path: string): number {
  if (!existsSync(path)) return -1;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const f of ['model.safetensors', 'config.json', 'generation_config.json', 'tokenizer.json']) {
    const p = join(path, f);
    if (!existsSync(p)) return -1;
    total += statSync(p).size;
  }
  return total;
}

function sameStamp(a: Stamp | undefined, b: Omit<Stamp, 'bytes'>): boolean {
  return (
    a !== undefined &&
    a.generator === b.generator &&
    a.shape === b.shape &&
    a.seed === b.seed &&
    a.format === b.format &&
    a.dtype === b.dtype &&
    a.tokenizer === b.tokenizer
  );
}

/** Rows per generated chunk: about CHUNK_ELEMENTS, whole heads for permuted q/k. */
function chunkRows(t: PlannedTensor): number {
  const unit = t.ggufPermuteHeadDim ?? 1;
  return Math.max(unit, Math.floor(CHUNK_ELEMENTS / colsOf(t) / unit) * unit);
}

/** Generate every tensor once and feed it, chunk by chunk, to all outputs. */
function generate(plan: PlannedTensor[], seed: number, outputs: Output[], log: (line: string) => void): void {
  let buffer = new Float32Array(0);
  let lastLayer = -1;
  for (const t of plan) {
    const layer = /^model\.layers\.(\d+)\./.exec(t.hfName);
    if (layer && Number(layer[1]) !== lastLayer) {
      lastLayer = Number(layer[1]);
      log(`  layer ${lastLayer}`);
    }
    const random = new TensorRandom(seed, t.hfName);
    const rows = rowsOf(t);
    const cols = colsOf(t);
    const step = chunkRows(t);
    for (let r = 0; r < rows; r += step) {
      const n = Math.min(step, rows - r) * cols;
      if (buffer.length < n) buffer = new Float32Array(n);
      const values = buffer.subarray(0, n);
      random.fill(values, r * cols, t.init);
      for (const o of outputs) o.write(t, values);
    }
  }
}

export function makeSyntheticModel(opts: MakeModelOptions): MakeModelResult {
  // F32 tensors are written straight from Float32Array memory, which must be little-endian like the formats.
  if (endianness() !== 'LE') throw new Error('make-model needs a little-endian machine');
  const shape = typeof opts.shape === 'string' ? getShape(opts.shape) : opts.shape;
  const seed = opts.seed ?? 0;
  const dtype = opts.dtype ?? 'bf16';
  const log = opts.log ?? (() => {});
  const outDir = resolve(opts.outDir);
  const tokenizer = loadTokenizerSource(opts.tokenizerDir ?? DEFAULT_TOKENIZER_DIR);
  const plan = planTensors(shape);
  mkdirSync(outDir, { recursive: true });

  const stamps = readStamps(outDir);
  const results: MadeOutput[] = [];
  const todo: { format: OutputFormat; name: string; stamp: Omit<Stamp, 'bytes'> }[] = [];
  for (const format of [...new Set(opts.formats)]) {
    const name = outputName(shape, format);
    const stamp = {
      generator: GENERATOR_VERSION,
      shape: shape.name,
      seed,
      format,
      dtype: format === 'hf' ? dtype : undefined,
      tokenizer: tokenizer.dir,
    };
    const path = join(outDir, name);
    const old = stamps[name];
    if (!opts.force && sameStamp(old, stamp) && sizeOf(path) === old!.bytes) {
      results.push({ format, path, bytes: old!.bytes, status: 'skipped' });
    } else {
      todo.push({ format, name, stamp });
    }
  }
  if (todo.length === 0) return { outputs: results, seconds: 0 };

  const start = process.hrtime.bigint();
  log(`generating ${shape.name} (seed ${seed}) → ${todo.map((t) => t.name).join(', ')}`);
  const outputs: Output[] = [];
  try {
    for (const t of todo) {
      // the stamp goes first: a crash can leave the old stamp pointing at a replaced file otherwise
      delete stamps[t.name];
      outputs.push(createOutput(t.format, { shape, plan, tokenizer, outDir, dtype }));
    }
    writeFileSync(join(outDir, STAMP_FILE), `${JSON.stringify(stamps, null, 2)}\n`);
    generate(plan, seed, outputs, log);
    for (const o of outputs) o.finish();
  } catch (err) {
    for (const o of outputs) o.abort();
    throw err;
  }
  for (const [i, t] of todo.entries()) {
    const path = outputs[i].path;
    const bytes = sizeOf(path);
    stamps[t.name] = { ...t.stamp, bytes };
    results.push({ format: t.format, path, bytes, status: 'written' });
  }
  writeFileSync(join(outDir, STAMP_FILE), `${JSON.stringify(stamps, null, 2)}\n`);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const order = new Map(opts.formats.map((f, i) => [f, i]));
  results.sort((a, b) => order.get(a.format)! - order.get(b.format)!);
  return { outputs: results, seconds };
}
