/**
 * `tsdeploy make-model`: write a random-weight model of a named shape (src/model/synthetic.ts) as
 * an HF directory and/or GGUF files, e.g. for benchmarks that need ERNIE-0.3B-sized weights.
 */
import {
  DEFAULT_TOKENIZER_DIR,
  type HfDtype,
  makeSyntheticModel,
  OUTPUT_FORMATS,
  type OutputFormat,
  parameterCount,
  SHAPES,
} from '../model/synthetic.ts';
import { type FlagSpec, formatHelp, parseFlags, UsageError } from './args.ts';

const FLAGS: FlagSpec[] = [
  { name: 'shape', type: 'string', help: `model shape (required): ${Object.keys(SHAPES).join(', ')}` },
  { name: 'out', type: 'string', help: 'output directory (required): <out>/hf/, <out>/<shape>.<type>.gguf' },
  { name: 'formats', type: 'string', help: 'comma-separated outputs', defaultText: OUTPUT_FORMATS.join(',') },
  { name: 'dtype', type: 'string', help: 'safetensors dtype of the HF output: bf16 or f32', defaultText: 'bf16' },
  { name: 'seed', type: 'int', help: 'random seed (same seed → same weights in every format)', defaultText: '0' },
  {
    name: 'tokenizer',
    type: 'string',
    help: 'tokenizer source (hf/tokenizer.json + one .gguf)',
    defaultText: 'stories260K',
  },
  { name: 'force', type: 'bool', help: 'rewrite outputs that are already current' },
  { name: 'help', type: 'bool', help: 'show this help' },
];

export interface MakeModelArgs {
  shape: string;
  out: string;
  formats: OutputFormat[];
  dtype: HfDtype;
  seed: number;
  tokenizer: string;
  force: boolean;
}

export function makeModelHelp(): string {
  const shapes = Object.values(SHAPES)
    .map((s) => `  ${s.name.padEnd(12)} ${s.description} — ${(parameterCount(s) / 1e6).toFixed(1)} M parameters`)
    .join('\n');
  return `${formatHelp('tsdeploy make-model', FLAGS)}\nshapes:\n${shapes}\n`;
}

export function parseMakeModelArgs(argv: string[]): MakeModelArgs | 'help' {
  const f = parseFlags(argv, FLAGS, 'make-model');
  if (f.help) return 'help';
  const shape = f.shape as string | undefined;
  const out = f.out as string | undefined;
  if (!shape) throw new UsageError('--shape is required (see tsdeploy make-model --help)');
  if (!SHAPES[shape]) throw new UsageError(`unknown --shape '${shape}' (known: ${Object.keys(SHAPES).join(', ')})`);
  if (!out) throw new UsageError('--out is required');
  const formats = String(f.formats ?? OUTPUT_FORMATS.join(','))
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  for (const fmt of formats) {
    if (!(OUTPUT_FORMATS as readonly string[]).includes(fmt))
      throw new UsageError(`unknown format '${fmt}' in --formats (known: ${OUTPUT_FORMATS.join(', ')})`);
  }
  if (formats.length === 0) throw new UsageError('--formats is empty');
  const dtype = String(f.dtype ?? 'bf16').toLowerCase();
  if (dtype !== 'bf16' && dtype !== 'f32') throw new UsageError(`--dtype must be bf16 or f32, got '${dtype}'`);
  const seed = (f.seed as number | undefined) ?? 0;
  if (seed < 0) throw new UsageError('--seed must be ≥ 0');
  return {
    shape,
    out,
    formats: formats as OutputFormat[],
    dtype,
    seed,
    tokenizer: (f.tokenizer as string | undefined) ?? DEFAULT_TOKENIZER_DIR,
    force: f.force === true,
  };
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Runs the generator, printing each output (written or skipped) on stdout and progress on stderr. */
export function makeModel(args: MakeModelArgs): void {
  const result = makeSyntheticModel({
    shape: args.shape,
    outDir: args.out,
    formats: args.formats,
    dtype: args.dtype,
    seed: args.seed,
    force: args.force,
    tokenizerDir: args.tokenizer,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  for (const o of result.outputs) {
    const what = o.status === 'written' ? 'wrote  ' : 'skipped';
    process.stdout.write(`${what} ${o.path} (${mb(o.bytes)})${o.status === 'skipped' ? ' — already current' : ''}\n`);
  }
  if (result.seconds > 0) process.stdout.write(`done in ${result.seconds.toFixed(1)} s\n`);
}
