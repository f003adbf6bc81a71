/**
 * When each request is sent, as offsets in seconds from the start of the run. A finite --request-rate
 * gives a Poisson process (exponential gaps with mean 1/rate), or with --burstiness b ≠ 1 a gamma
 * process with the same mean rate (b < 1 burstier, b > 1 more regular), as vLLM's bench serve does.
 * An infinite rate sends everything at t = 0 (then --max-concurrency alone shapes the load).
 */
import { Rng } from './rng.ts';

export function arrivalOffsets(count: number, requestRate: number, seed: number, burstiness = 1): number[] {
  if (!(requestRate > 0)) throw new Error(`request rate must be > 0, got ${requestRate}`);
  if (!(burstiness > 0)) throw new Error(`burstiness must be > 0, got ${burstiness}`);
  const out = new Array<number>(count).fill(0);
  if (requestRate === Number.POSITIVE_INFINITY) return out;
  // A stream of its own so the schedule does not change when the prompts do (and vice versa).
  const rng = new Rng(seed ^ 0x5bd1e995);
  let t = 0;
  for (let i = 0; i < count; i++) {
    // The first request goes at t = 0: a run should not start with an idle gap.
    if (i > 0)
      t += burstiness === 1 ? rng.exponential(1 / requestRate) : rng.gamma(burstiness, 1 / (requestRate * burstiness));
    out[i] = t;
  }
  return out;
}
