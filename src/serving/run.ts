/**
 * Runs the engine requests of one API request (one per choice) concurrently and yields their steps in
 * arrival order. Owns the abort wiring: a stop-string match aborts that choice's engine request; the client's
 * signal, an error, or the consumer stopping early aborts every request still running. It also reports the
 * run's events to the request's metrics observer.
 */
import type { EngineClient } from '../engine/client-types.ts';
import type { EngineOutput, EngineRequest } from '../engine/types.ts';
import type { ChoiceDecoder, ChoiceStep } from './choice.ts';
import type { ChoiceCounts, RequestCounts, RequestObserver } from './metrics-observer.ts';

export interface ChoiceRun {
  /** index in the response's `choices` */
  index: number;
  request: EngineRequest;
  decoder: ChoiceDecoder;
}

export interface RunEvent {
  choice: ChoiceRun;
  step: ChoiceStep;
  /** true for the first step of this choice (role chunk / return_token_ids first chunk go before it) */
  first: boolean;
}

/** Metrics of one run: the request's observer, and its final counts (the response's usage). */
export interface RunMetrics {
  observer: RequestObserver;
  counts: () => RequestCounts;
}

type Arrival =
  | { choice: number; output: EngineOutput }
  | { choice: number; error: unknown }
  | { choice: number; end: true };

/**
 * Yields one RunEvent per engine output until every choice has finished. Returns early and quietly when
 * `signal` aborts (the client is gone: nobody is left to answer). Throws the first error (an ApiError from
 * the decoder or whatever the engine client threw). `metrics`, when given, hears of each choice's first and
 * last output, and then exactly once whether the run finished or failed.
 */
export async function* runChoices(
  engine: EngineClient,
  choices: readonly ChoiceRun[],
  signal: AbortSignal,
  metrics?: RunMetrics,
): AsyncGenerator<RunEvent> {
  const controllers = choices.map(() => new AbortController());
  // Only unfinished choices are aborted, so a signal that fired means work was really cut short.
  const abortAll = (): void => {
    choices.forEach((c, i) => {
      if (!c.decoder.finished) controllers[i].abort();
    });
  };
  if (signal.aborted) {
    metrics?.observer.failed('aborted');
    return;
  }
  signal.addEventListener('abort', abortAll, { once: true });

  const queue: Arrival[] = [];
  let wake: (() => void) | undefined;
  const push = (a: Arrival): void => {
    queue.push(a);
    wake?.();
    wake = undefined;
  };
  const abortedByClient = new Promise<void>((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );

  choices.forEach((c, i) => {
    void (async () => {
      try {
        for await (const output of engine.generate(c.request, controllers[i].signal)) {
          push({ choice: i, output });
          if (controllers[i].signal.aborted) break;
        }
      } catch (error) {
        push({ choice: i, error });
      }
      push({ choice: i, end: true });
    })();
  });

  const started = new Array<boolean>(choices.length).fill(false);
  let running = choices.length;
  // Anything but a normal end or a thrown error (client gone, consumer stopped early) is an abort.
  let outcome: 'finished' | 'error' | 'aborted' = 'aborted';
  try {
    while (running > 0) {
      if (signal.aborted) return;
      if (queue.length === 0) {
        const arrived = new Promise<void>((resolve) => (wake = resolve));
        await Promise.race([arrived, abortedByClient]);
        continue;
      }
      const a = queue.shift()!;
      const choice = choices[a.choice];
      if ('end' in a) {
        if (!choice.decoder.finished && !signal.aborted) {
          // The engine ended the stream without a finish reason: a broken contract, not a client error.
          throw new Error(`engine request ${choice.request.id} ended without a finish reason`);
        }
        running--;
        continue;
      }
      if ('error' in a) throw a.error;
      // Outputs that arrive after a stop string ended the choice (the abort is asynchronous) are dropped.
      if (choice.decoder.finished) continue;
      const step = choice.decoder.push(a.output);
      if (step.stoppedByString) controllers[a.choice].abort();
      const first = !started[a.choice];
      started[a.choice] = true;
      if (first) metrics?.observer.firstToken(choice.index);
      if (step.finishReason) metrics?.observer.choiceFinished(choice.index, choiceCounts(choice));
      yield { choice, step, first };
    }
    outcome = 'finished';
  } catch (error) {
    outcome = 'error';
    throw error;
  } finally {
    // Consumer gone, error, or all done: nothing may keep generating for this request.
    signal.removeEventListener('abort', abortAll);
    abortAll();
    if (metrics) {
      if (outcome === 'finished') metrics.observer.finished(metrics.counts());
      else metrics.observer.failed(outcome);
    }
  }
}

function choiceCounts({ request, decoder }: ChoiceRun): ChoiceCounts {
  return {
    promptTokens: request.promptIds.length,
    cachedTokens: decoder.cachedTokens,
    generationTokens: decoder.tokenIds.length,
  };
}
