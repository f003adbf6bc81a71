/**
 * Entry point of the engine's worker thread: loads the model, then runs the step loop. The HTTP
 * event loop lives in the main thread and never waits on model code.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { SERVE_DEFAULTS } from '../config/server-config.ts';
import { Transformer } from '../model/forward.ts';
import { loadModel } from '../model/load.ts';
import { quantizeModel } from '../model/quantize.ts';
import { native } from '../native/index.ts';
import { EngineCore } from './core.ts';
import { KvCache } from './kv-cache.ts';
import type { EngineInfo, EngineOptions, FromWorker, ToWorker } from './protocol.ts';
import { type EngineOutput, SharedStats } from './types.ts';

// The engine's defaults are the server's, so `startEngine` alone behaves like `tsdeploy serve`.
const D = SERVE_DEFAULTS;

if (!parentPort) throw new Error('engine/worker.ts must run in a worker thread');
const port: MessagePort = parentPort;
const send = (msg: FromWorker): void => port.postMessage(msg);

function start(options: EngineOptions): void {
  if (options.threads !== undefined) native.setThreads(options.threads);
  const loaded = loadModel(options.modelPath);
  const model = options.quantization ? quantizeModel(loaded, options.quantization, native) : loaded;
  const spec = model.spec;
  const maxModelLen = options.maxModelLen ?? spec.maxPositionEmbeddings;
  const blockSize = options.blockSize ?? D.blockSize;
  const maxNumSeqs = options.maxNumSeqs ?? D.maxNumSeqs;
  const kvCacheDtype = options.kvCacheDtype ?? D.kvCacheDtype;
  const perBlock = KvCache.bytesPerBlock(spec.numLayers, spec.numKvHeads * spec.headDim, blockSize, kvCacheDtype);
  // Enough blocks for every running sequence at full context, capped by the memory budget, but
  // always at least one full-length sequence.
  const wanted = maxNumSeqs * Math.ceil(maxModelLen / blockSize);
  const affordable = Math.floor((options.kvCacheBytes ?? D.kvCacheMemory * 1024 ** 3) / perBlock);
  const numBlocks = Math.max(Math.ceil(maxModelLen / blockSize), Math.min(wanted, affordable));

  const shared = new SharedStats();
  const publish = (): void => shared.write(core.stats());
  const core: EngineCore = new EngineCore(new Transformer(model, native), {
    blockSize,
    numBlocks,
    kvCacheDtype,
    maxNumSeqs,
    maxNumBatchedTokens: options.maxNumBatchedTokens ?? D.maxNumBatchedTokens,
    enableChunkedPrefill: options.enableChunkedPrefill ?? D.enableChunkedPrefill,
    enablePrefixCaching: options.enablePrefixCaching ?? D.enablePrefixCaching,
    vocabLimit: Math.min(options.vocabLimit ?? spec.vocabSize, spec.vocabSize),
  }, publish);
  publish();
  const info: EngineInfo = {
    maxModelLen,
    modelVocabSize: spec.vocabSize,
    eosTokenIds: spec.eosTokenIds,
    numBlocks,
    blockSize,
    isa: native.isa,
    threads: native.threads,
    stats: shared.buffer,
  };

  let stepping = false;
  const loop = (): void => {
    stepping = false;
    if (!core.hasWork()) return;
    let outputs: EngineOutput[];
    try {
      outputs = core.step();
    } catch (err) {
      send({ type: 'fatal', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      process.exit(1);
    }
    publish();
    if (outputs.length > 0) send({ type: 'outputs', outputs });
    schedule();
  };
  // One step per macrotask, so add/abort messages are handled between steps.
  const schedule = (): void => {
    if (!stepping && core.hasWork()) {
      stepping = true;
      setImmediate(loop);
    }
  };

  port.on('message', (msg: ToWorker) => {
    switch (msg.type) {
      case 'add': {
        const rejected = core.add(msg.request);
        if (rejected) send({ type: 'outputs', outputs: [rejected] });
        break;
      }
      case 'abort': {
        const out = core.abort(msg.id);
        if (out) send({ type: 'outputs', outputs: [out] });
        break;
      }
      case 'shutdown':
        port.close();
        return;
    }
    publish();
    schedule();
  });
  send({ type: 'ready', info });
}

try {
  start(workerData as EngineOptions);
} catch (err) {
  send({ type: 'fatal', error: err instanceof Error ? err.message : String(err) });
}
