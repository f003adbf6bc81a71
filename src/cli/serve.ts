import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SERVE_DEFAULTS, type ServeConfig, WEIGHT_QUANTIZATIONS, type WeightQuantization } from '../config/server-config.ts';
import { startEngine } from '../engine/client.ts';
import { readGguf } from '../model/gguf.ts';
import { resolveModelFile } from '../model/resolve.ts';
import { createServer } from '../server/app.ts';
import { ChatTemplate } from '../text/chat-template.ts';
import { PromptEncoder, type TokenizerSource } from '../text/encoder.ts';
import { loadGgufTokenizer, loadHfTokenizer } from '../text/load.ts';
import type { Tokenizer } from '../text/types.ts';
import { type FlagSpec, formatHelp, type ParsedFlags, parseFlags, UsageError } from './args.ts';

export const SERVE_FLAGS: FlagSpec[] = [
  { name: 'model', type: 'string', help: 'Hugging Face model directory or GGUF file (required)' },
  { name: 'quantization', type: 'string', help: 'quantize float weights at load: wint8 (Q8_0) or wint4 (Q4_0)' },
  { name: 'host', type: 'string', help: 'address to bind', defaultText: SERVE_DEFAULTS.host },
  { name: 'port', type: 'int', help: 'HTTP port', defaultText: String(SERVE_DEFAULTS.port) },
  { name: 'served-model-name', type: 'string', help: 'model name in the API; requests must then name it or "default"' },
  { name: 'max-model-len', type: 'int', help: 'context window (prompt + completion)', defaultText: "the model's" },
  { name: 'chat-template', type: 'string', help: 'Jinja chat template: a file path or the template text' },
  { name: 'enable-logprob', type: 'bool', help: 'allow logprobs / top_logprobs in requests' },
  { name: 'max-logprobs', type: 'int', help: 'largest top_logprobs a request may ask for', defaultText: '20' },
  { name: 'max-num-seqs', type: 'int', help: 'sequences decoded together', defaultText: String(SERVE_DEFAULTS.maxNumSeqs) },
  {
    name: 'max-num-batched-tokens',
    type: 'int',
    help: 'tokens per engine step',
    defaultText: String(SERVE_DEFAULTS.maxNumBatchedTokens),
  },
  { name: 'enable-chunked-prefill', type: 'bool', help: 'split long prompts across steps', defaultText: 'on' },
  { name: 'enable-prefix-caching', type: 'bool', help: 'reuse KV blocks of shared prompt prefixes', defaultText: 'on' },
  { name: 'threads', type: 'int', help: 'threads for the model kernels', defaultText: 'the usable cores' },
  { name: 'block-size', type: 'int', help: 'KV-cache block size in tokens', defaultText: String(SERVE_DEFAULTS.blockSize) },
  {
    name: 'kv-cache-memory',
    type: 'float',
    help: 'GiB of memory for the KV cache',
    defaultText: String(SERVE_DEFAULTS.kvCacheMemory),
  },
  {
    name: 'kv-cache-dtype',
    type: 'string',
    help: 'KV-cache element type: f16 (half the memory) or f32',
    defaultText: SERVE_DEFAULTS.kvCacheDtype,
  },
  { name: 'help', type: 'bool', help: 'show this help' },
];

export function serveHelp(): string {
  return formatHelp('tsdeploy serve --model <path>', SERVE_FLAGS);
}

export function parseServeArgs(argv: string[]): ServeConfig | 'help' {
  const f: ParsedFlags = parseFlags(argv, SERVE_FLAGS);
  if (f.help) return 'help';
  if (typeof f.model !== 'string') throw new UsageError('--model is required');
  const positive = (name: string): number | undefined => {
    const v = f[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || v <= 0) throw new UsageError(`--${name} must be positive`);
    return v;
  };
  const cfg: ServeConfig = {
    ...SERVE_DEFAULTS,
    model: f.model,
    quantization: f.quantization as WeightQuantization | undefined,
    host: (f.host as string | undefined) ?? SERVE_DEFAULTS.host,
    port: (f.port as number | undefined) ?? SERVE_DEFAULTS.port,
    servedModelName: f['served-model-name'] as string | undefined,
    maxModelLen: positive('max-model-len'),
    chatTemplate: f['chat-template'] as string | undefined,
    enableLogprob: f['enable-logprob'] === true,
    maxLogprobs: (f['max-logprobs'] as number | undefined) ?? SERVE_DEFAULTS.maxLogprobs,
    maxNumSeqs: positive('max-num-seqs') ?? SERVE_DEFAULTS.maxNumSeqs,
    maxNumBatchedTokens: positive('max-num-batched-tokens') ?? SERVE_DEFAULTS.maxNumBatchedTokens,
    enableChunkedPrefill: (f['enable-chunked-prefill'] as boolean | undefined) ?? SERVE_DEFAULTS.enableChunkedPrefill,
    enablePrefixCaching: (f['enable-prefix-caching'] as boolean | undefined) ?? SERVE_DEFAULTS.enablePrefixCaching,
    blockSize: positive('block-size') ?? SERVE_DEFAULTS.blockSize,
    threads: positive('threads'),
    kvCacheMemory: positive('kv-cache-memory') ?? SERVE_DEFAULTS.kvCacheMemory,
    kvCacheDtype: (f['kv-cache-dtype'] as ServeConfig['kvCacheDtype'] | undefined) ?? SERVE_DEFAULTS.kvCacheDtype,
  };
  if (cfg.kvCacheDtype !== 'f16' && cfg.kvCacheDtype !== 'f32') {
    throw new UsageError(`--kv-cache-dtype must be f16 or f32, got '${cfg.kvCacheDtype}'`);
  }
  if (cfg.quantization !== undefined && !WEIGHT_QUANTIZATIONS.includes(cfg.quantization)) {
    throw new UsageError(`--quantization must be one of ${WEIGHT_QUANTIZATIONS.join(', ')}, got '${cfg.quantization}'`);
  }
  if (cfg.port < 0 || cfg.port > 65535) throw new UsageError(`--port must be in 0…65535, got ${cfg.port}`);
  return cfg;
}

/** Where a model's tokenizer comes from: tokenizer.json beside HF weights, or the GGUF's own metadata. */
function tokenizerSourceFor(modelFile: { format: 'hf' | 'gguf'; path: string }): TokenizerSource {
  return modelFile.format === 'hf'
    ? { kind: 'hf', dir: modelFile.path }
    : { kind: 'gguf', metadata: readGguf(modelFile.path).metadata };
}

function loadTokenizerFrom(source: TokenizerSource): Tokenizer {
  return source.kind === 'hf' ? loadHfTokenizer(source.dir) : loadGgufTokenizer(source.metadata);
}

/** A --chat-template value is a file when such a file exists, else the template text itself. */
function readTemplateFlag(value: string): string {
  return existsSync(value) && statSync(value).isFile() ? readFileSync(value, 'utf8') : value;
}

/** Sampling defaults a model's generation_config.json recommends (HF directories only). */
function generationDefaults(modelFile: { format: 'hf' | 'gguf'; path: string }): Record<string, number> {
  const file = join(modelFile.path, 'generation_config.json');
  if (modelFile.format !== 'hf' || !existsSync(file)) return {};
  const g = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const key of ['temperature', 'top_p', 'top_k']) if (typeof g[key] === 'number') out[key] = g[key] as number;
  return out;
}

export async function serve(cfg: ServeConfig, log: (line: string) => void = console.log): Promise<() => Promise<void>> {
  const modelFile = resolveModelFile(cfg.model);
  const tokenizerSource = tokenizerSourceFor(modelFile);
  const tokenizer = loadTokenizerFrom(tokenizerSource);
  const encoder = new PromptEncoder(tokenizer, tokenizerSource);
  const templateSource = cfg.chatTemplate !== undefined ? readTemplateFlag(cfg.chatTemplate) : tokenizer.chatTemplate;
  const chatTemplate = templateSource ? new ChatTemplate(templateSource, tokenizer.specialTokenStrings) : undefined;

  const engine = await startEngine({
    modelPath: cfg.model,
    quantization: cfg.quantization,
    maxModelLen: cfg.maxModelLen,
    vocabLimit: tokenizer.vocabSize,
    maxNumSeqs: cfg.maxNumSeqs,
    maxNumBatchedTokens: cfg.maxNumBatchedTokens,
    enableChunkedPrefill: cfg.enableChunkedPrefill,
    enablePrefixCaching: cfg.enablePrefixCaching,
    blockSize: cfg.blockSize,
    threads: cfg.threads,
    kvCacheBytes: cfg.kvCacheMemory * 1024 ** 3,
    kvCacheDtype: cfg.kvCacheDtype,
  });
  const eosTokenIds = [...new Set([...tokenizer.eosTokenIds, ...engine.info.eosTokenIds])];
  const app = createServer({
    engine,
    tokenizer,
    encoder,
    chatTemplate,
    servedModelName: cfg.servedModelName,
    modelPath: cfg.model,
    maxModelLen: engine.maxModelLen,
    enableLogprob: cfg.enableLogprob,
    maxLogprobs: cfg.maxLogprobs,
    maxBatchSize: cfg.maxNumSeqs,
    eosTokenIds,
    generationDefaults: generationDefaults(modelFile),
  });
  const address = await app.listen({ host: cfg.host, port: cfg.port });
  const { info } = engine;
  log(
    `tsdeploy: serving ${cfg.servedModelName ?? cfg.model} on ${address} ` +
      `(max_model_len ${info.maxModelLen}, ${info.numBlocks} KV blocks of ${info.blockSize}, kernels ${info.isa} × ${info.threads} threads)`,
  );
  return async () => {
    await app.close();
    await encoder.close();
    await engine.close();
  };
}
