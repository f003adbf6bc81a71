// Shared set-up for the server tests that generate: the real engine on stories260K, the real tokenizer, and
// helpers to read SSE bodies.
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { startEngine } from '../../src/engine/client.ts';
import type { EngineClient } from '../../src/engine/client-types.ts';
import type { EngineOutput, EngineRequest, EngineStats } from '../../src/engine/types.ts';
import { createServer, type ServerOptions } from '../../src/server/app.ts';
import { loadHfTokenizer } from '../../src/text/load.ts';
import type { Tokenizer } from '../../src/text/types.ts';

export const MODEL_DIR = fileURLToPath(new URL('../../../shared/models/stories260K/hf', import.meta.url));
export const MAX_MODEL_LEN = 256;

/**
 * The real engine, observed: records every request it was given and the AbortSignal that came with it, so
 * tests can check that a disconnect or a stop string reached the engine. Generation is the engine's own.
 */
export class ObservedEngine implements EngineClient {
  readonly requests: { request: EngineRequest; signal: AbortSignal | undefined; outputs: number; done: boolean }[] = [];

  constructor(private readonly inner: EngineClient) {}

  get maxModelLen(): number {
    return this.inner.maxModelLen;
  }

  get modelVocabSize(): number {
    return this.inner.modelVocabSize;
  }

  get alive(): boolean {
    return this.inner.alive;
  }

  stats(): EngineStats {
    return this.inner.stats();
  }

  async *generate(request: EngineRequest, signal?: AbortSignal): AsyncIterable<EngineOutput> {
    const rec = { request, signal, outputs: 0, done: false };
    this.requests.push(rec);
    try {
      for await (const out of this.inner.generate(request, signal)) {
        rec.outputs++;
        yield out;
      }
    } finally {
      rec.done = true;
    }
  }

  find(prefix: string) {
    return this.requests.filter((r) => r.request.id.startsWith(prefix));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface Fixture {
  app: FastifyInstance;
  engine: ObservedEngine;
  tokenizer: Tokenizer;
  close(): Promise<void>;
}

export async function startFixture(extra: Partial<ServerOptions> = {}): Promise<Fixture> {
  const tokenizer = loadHfTokenizer(MODEL_DIR);
  const engine = new ObservedEngine(
    await startEngine({ modelPath: MODEL_DIR, maxModelLen: MAX_MODEL_LEN, vocabLimit: tokenizer.vocabSize }),
  );
  const app = createServer({
    engine,
    tokenizer,
    servedModelName: 'stories',
    modelPath: MODEL_DIR,
    maxModelLen: MAX_MODEL_LEN,
    enableLogprob: true,
    eosTokenIds: tokenizer.eosTokenIds,
    ...extra,
  });
  return {
    app,
    engine,
    tokenizer,
    async close() {
      await app.close();
      await engine.close();
    },
  };
}

/** Parsed JSON whose fields the tests check one by one. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
export type Json = any;

/** Splits an SSE body into its JSON events; asserts the framing (`data: …\n\n`, `[DONE]` last). */
export function parseSse(body: string): { events: Json[]; done: boolean } {
  const raw = body.split('\n\n');
  if (raw.at(-1) !== '') throw new Error(`SSE body does not end with a blank line: ${JSON.stringify(body.slice(-40))}`);
  raw.pop();
  const events: Json[] = [];
  let done = false;
  for (const e of raw) {
    if (!e.startsWith('data: ')) throw new Error(`not a data event: ${JSON.stringify(e)}`);
    const data = e.slice('data: '.length);
    if (done) throw new Error('event after [DONE]');
    if (data === '[DONE]') done = true;
    else events.push(JSON.parse(data));
  }
  return { events, done };
}

export async function postJson(app: FastifyInstance, url: string, payload: object) {
  const res = await app.inject({ method: 'POST', url, payload });
  if (res.statusCode !== 200) throw new Error(`${url} → ${res.statusCode}: ${res.body}`);
  return res;
}
