/**
 * What the engine benchmark measures, shared by the two engine drivers (tsdeploy.ts, llama-cpp.ts)
 * and the orchestrator (engine.ts).
 *
 * Every test is a token-id workload; both engines get the same token ids, the same GGUF file, greedy
 * sampling over the whole vocabulary and no end-of-sequence stop, so they do the same work.
 */

/** One row kind of the table. */
export type TestSpec =
  /** prefill: one sequence, the whole prompt in one forward pass, then one sampled token */
  | { kind: 'pp'; name: string; tokens: number }
  /** single-stream decode: `tokens` decode steps after a short prompt (its prefill is not timed) */
  | { kind: 'tg'; name: string; prompt: number; tokens: number }
  /** batched decode: `seqs` sequences decoding together, `steps` steps of one token per sequence */
  | { kind: 'batch'; name: string; seqs: number; prompt: number; steps: number };

/** One timed run: tokens processed (prompt tokens for pp, generated tokens otherwise) in `seconds`. */
export interface Timing {
  tokens: number;
  seconds: number;
}

/** A benchmark driver of one engine with one model loaded. */
export interface EngineDriver {
  readonly name: string;
  /** Allocates what `test` needs (KV cache / context); called before its runs. */
  prepare(test: TestSpec): Promise<void>;
  /** One run of `test`; `firstTokens` receives the greedy tokens of single-stream runs (a cross-check). */
  run(test: TestSpec, firstTokens?: number[]): Promise<Timing>;
  /** Frees what `prepare` allocated. */
  finish(test: TestSpec): Promise<void>;
  dispose(): Promise<void>;
}

/** Short prompt of decode tests, in tokens. */
export const DECODE_PROMPT = 8;

export function testPlan(quick: boolean): TestSpec[] {
  const pp = quick ? [32, 64] : [128, 512];
  const tg = quick ? 16 : 128;
  const steps = quick ? 4 : 32;
  return [
    ...pp.map((n): TestSpec => ({ kind: 'pp', name: `pp${n}`, tokens: n })),
    { kind: 'tg', name: `tg${tg}`, prompt: DECODE_PROMPT, tokens: tg },
    ...[4, 16, 32].map(
      (n): TestSpec => ({ kind: 'batch', name: `batch${n} ×${steps}`, seqs: n, prompt: DECODE_PROMPT, steps }),
    ),
  ];
}

/** KV positions one sequence of `test` needs (prompt, generated tokens, and one spare). */
export function tokensPerSequence(test: TestSpec): number {
  if (test.kind === 'pp') return test.tokens + 1;
  if (test.kind === 'tg') return test.prompt + test.tokens + 1;
  return test.prompt + test.steps + 1;
}

/** A smaller version of a test for warm-up (same shapes, fewer steps). */
export function warmupOf(test: TestSpec): TestSpec {
  if (test.kind === 'tg') return { ...test, tokens: Math.min(test.tokens, 8) };
  if (test.kind === 'batch') return { ...test, steps: Math.min(test.steps, 2) };
  return test;
}

/**
 * Deterministic prompt token ids in [3, 500): real tokens of the synthetic models' 512-token
 * vocabulary (0–2 are unk/bos/eos). `salt` gives each sequence of a batch its own prompt.
 */
export function promptTokens(length: number, salt = 0): number[] {
  const out: number[] = [];
  let x = (0x9e3779b9 ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push(3 + (x % 497));
  }
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const now = (): number => performance.now() / 1000;
