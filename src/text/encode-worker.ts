/** The encode worker (encoder.ts): loads the tokenizer from its source and encodes texts on request. */
import { parentPort, workerData } from 'node:worker_threads';
import type { EncodeReply, EncodeRequest, TokenizerSource } from './encoder.ts';
import { loadGgufTokenizer, loadHfTokenizer } from './load.ts';
import type { Tokenizer } from './types.ts';

if (!parentPort) throw new Error('text/encode-worker.ts must run in a worker thread');
const port = parentPort;
const source = workerData as TokenizerSource;
const tokenizer: Tokenizer = source.kind === 'hf' ? loadHfTokenizer(source.dir) : loadGgufTokenizer(source.metadata);

port.on('message', (req: EncodeRequest) => {
  try {
    const ids = Int32Array.from(tokenizer.encode(req.text, { addSpecialTokens: req.addSpecialTokens }));
    port.postMessage({ id: req.id, ids } satisfies EncodeReply, [ids.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) } satisfies EncodeReply);
  }
});
