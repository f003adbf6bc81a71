/**
 * Prompt encoding that keeps the HTTP event loop responsive: the tokenizers are synchronous (about
 * 2 s per 100 KB of text), so long texts go to a worker thread holding its own copy of the same
 * tokenizer, while short ones (the common case, well under a millisecond) are encoded in place.
 * Both give the same ids: the worker loads the tokenizer from the same source.
 */
import { Worker } from 'node:worker_threads';
import type { Tokenizer } from './types.ts';

/** Where a worker thread can load the same tokenizer from (structured-cloneable). */
export type TokenizerSource = { kind: 'hf'; dir: string } | { kind: 'gguf'; metadata: ReadonlyMap<string, unknown> };

/** A request to the encode worker and its answer. */
export interface EncodeRequest {
  id: number;
  text: string;
  addSpecialTokens: boolean;
}
export type EncodeReply = { id: number; ids: Int32Array } | { id: number; error: string };

/** Texts up to this many characters are encoded on the calling thread. */
export const INLINE_ENCODE_MAX_CHARS = 16384;

export class PromptEncoder {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (ids: number[]) => void; reject: (err: Error) => void }>();

  constructor(
    private readonly tokenizer: Tokenizer,
    /** without a source every text is encoded in place */
    private readonly source?: TokenizerSource,
    private readonly inlineMaxChars = INLINE_ENCODE_MAX_CHARS,
  ) {}

  encode(text: string, addSpecialTokens: boolean): Promise<number[]> {
    if (!this.source || text.length <= this.inlineMaxChars) {
      try {
        return Promise.resolve(this.tokenizer.encode(text, { addSpecialTokens }));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const worker = this.worker ?? this.startWorker(this.source);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, text, addSpecialTokens } satisfies EncodeRequest);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private startWorker(source: TokenizerSource): Worker {
    const worker = new Worker(new URL('./encode-worker-bootstrap.mjs', import.meta.url), { workerData: source });
    worker.unref(); // an idle encoder never keeps the process alive
    worker.on('message', (reply: EncodeReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if ('error' in reply) p.reject(new Error(reply.error));
      else p.resolve(Array.from(reply.ids));
    });
    const failAll = (err: Error): void => {
      if (this.worker === worker) this.worker = undefined; // the next long text starts a fresh worker
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`tokenizer worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
