/**
 * `GET /metrics` (api-spec §11): Prometheus text exposition with prom-client, under FastDeploy's `fastdeploy:`
 * names (Decisions §12). Each server has its own Registry (never prom-client's global one), holding prom-client's
 * default process metrics, the engine gauges — read from `engine.stats()` when scraped — and the request
 * metrics, fed by serving/ through the ServingObserver interface this class implements.
 *
 * Counting rules:
 * - A request is counted in `requests_number` once it passed validation (rejected requests are not), and in
 *   `request_success_total`, `prompt_tokens_total`, `generation_tokens_total`, `request_prompt_tokens`,
 *   `request_generation_tokens` and `e2e_request_latency_seconds` when its response is complete, with the
 *   numbers of the response's `usage`. Failed or disconnected requests only count as received.
 * - TTFT, TPOT, `request_params_max_tokens`, `prefix_cache_token_num` and `hit_token_rate` are per choice (one
 *   engine request each, as in FastDeploy where `n` choices are n engine requests). TTFT runs from the handler
 *   receiving the request to the choice's first output; TPOT is the choice's (last − first output time) /
 *   (generated tokens − 1), observed for choices of two tokens or more.
 * - `hit_token_rate` is cached prompt tokens / prompt tokens over every finished choice since start.
 *
 * Engine gauges ("gpu" in the names is FastDeploy's; here the blocks are the CPU KV cache's):
 * - `available_gpu_block_num`: blocks no request owns, including cached prefixes that can be evicted.
 * - `free_gpu_block_num`: blocks no request owns and no cached prefix occupies.
 * - `prefix_cache_block_num` is a tsdeploy addition: blocks registered in the prefix cache, owned or not.
 * The engine publishes its stats in shared memory after every scheduling decision, so a scrape never waits,
 * also not in the middle of a long step.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ChoiceCounts, RequestCounts, RequestObserver, ServingObserver } from '../serving/metrics-observer.ts';
import type { ServingOptions } from '../serving/options.ts';

type EngineStats = ReturnType<ServingOptions['engine']['stats']>;

export interface MetricsOptions {
  /** The engine whose occupancy the gauges show. */
  engine: Pick<ServingOptions['engine'], 'stats'>;
  /** --max-num-seqs, shown as `fastdeploy:max_batch_size` (the gauge is absent when unknown). */
  maxBatchSize?: number;
}

/** FastDeploy's buckets (api-spec §11). */
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0];
const TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0];
const E2E_BUCKETS = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0,
  7680.0,
];
/** 1, 2, 5, 10, 20, 50, … up to `max` (FastDeploy uses max 33792 for its token-count histograms). */
export function buckets125(max: number): number[] {
  const out: number[] = [];
  for (let scale = 1; ; scale *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * scale > max) return out;
      out.push(m * scale);
    }
  }
}
const TOKEN_BUCKETS = buckets125(33792);

export class ServerMetrics implements ServingObserver {
  readonly registry = new Registry();

  private readonly requestsNumber: Counter;
  private readonly requestSuccess: Counter;
  private readonly promptTokensTotal: Counter;
  private readonly generationTokensTotal: Counter;
  private readonly prefixCacheTokens: Counter;
  private readonly ttft: Histogram;
  private readonly tpot: Histogram;
  private readonly e2e: Histogram;
  private readonly requestPromptTokens: Histogram;
  private readonly requestGenerationTokens: Histogram;
  private readonly requestMaxTokens: Histogram;
  /** prompt and cached tokens of every finished choice, for hit_token_rate */
  private choicePromptTokens = 0;
  private choiceCachedTokens = 0;

  constructor(private readonly opts: MetricsOptions) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    const counter = (name: string, help: string) => new Counter({ name: `fastdeploy:${name}`, help, registers });
    const histogram = (name: string, help: string, buckets: number[]) =>
      new Histogram({ name: `fastdeploy:${name}`, help, buckets, registers });

    this.requestsNumber = counter('requests_number', 'Total number of requests received');
    this.requestSuccess = counter('request_success_total', 'Total number of successfully processed requests');
    this.promptTokensTotal = counter('prompt_tokens_total', 'Total number of prompt tokens processed');
    this.generationTokensTotal = counter('generation_tokens_total', 'Total number of generation tokens processed');
    this.prefixCacheTokens = counter('prefix_cache_token_num', 'Total number of cached tokens');
    this.ttft = histogram('time_to_first_token_seconds', 'Time to first token in seconds', TTFT_BUCKETS);
    this.tpot = histogram('time_per_output_token_seconds', 'Time per output token in seconds', TPOT_BUCKETS);
    this.e2e = histogram(
      'e2e_request_latency_seconds',
      'End-to-end request latency (from request arrival to final response)',
      E2E_BUCKETS,
    );
    this.requestPromptTokens = histogram('request_prompt_tokens', 'Number of prefill tokens processed', TOKEN_BUCKETS);
    this.requestGenerationTokens = histogram(
      'request_generation_tokens',
      'Number of generation tokens processed',
      TOKEN_BUCKETS,
    );
    this.requestMaxTokens = histogram(
      'request_params_max_tokens',
      'Histogram of max_tokens parameter in request parameters',
      TOKEN_BUCKETS,
    );

    const metrics = this;
    new Gauge({
      name: 'fastdeploy:hit_token_rate',
      help: 'Token-level prefix cache hit rate',
      registers,
      collect() {
        this.set(metrics.choicePromptTokens > 0 ? metrics.choiceCachedTokens / metrics.choicePromptTokens : 0);
      },
    });

    this.engineGauge('num_requests_running', 'Number of requests currently running', (s) => s.numRunning);
    this.engineGauge('num_requests_waiting', 'Number of requests currently waiting', (s) => s.numWaiting);
    this.engineGauge('gpu_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage', (s) =>
      s.numBlocks > 0 ? (s.numBlocks - s.numFreeBlocks) / s.numBlocks : 0,
    );
    this.engineGauge(
      'available_gpu_block_num',
      'Number of available blocks in cache, including blocks in LRU list',
      (s) => s.numFreeBlocks,
    );
    this.engineGauge(
      'free_gpu_block_num',
      'Number of free blocks in cache (not owned and not holding a cached prefix)',
      (s) => s.numFreeBlocks - s.numFreeCachedBlocks,
    );
    this.engineGauge('max_gpu_block_num', 'Number of total blocks determined when service started', (s) => s.numBlocks);
    this.engineGauge(
      'available_gpu_resource',
      'Available blocks percentage, i.e. available_gpu_block_num / max_gpu_block_num',
      (s) => (s.numBlocks > 0 ? s.numFreeBlocks / s.numBlocks : 0),
    );
    this.engineGauge(
      'prefix_cache_block_num',
      'Number of blocks registered in the prefix cache, owned or evictable (tsdeploy addition)',
      (s) => s.numCachedBlocks,
    );
    if (opts.maxBatchSize !== undefined) {
      new Gauge({
        name: 'fastdeploy:max_batch_size',
        help: 'Maximum batch size determined when service started',
        registers,
      }).set(opts.maxBatchSize);
    }
  }

  /** Content-Type of `metrics()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of every metric, engine gauges freshly read. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  requestReceived({ arrival, maxTokens }: { arrival: number; maxTokens: readonly number[] }): RequestObserver {
    this.requestsNumber.inc();
    for (const m of maxTokens) this.requestMaxTokens.observe(m);
    const firstTokenAt = new Map<number, number>();
    return {
      firstToken: (choice: number) => {
        const now = performance.now();
        firstTokenAt.set(choice, now);
        this.ttft.observe((now - arrival) / 1000);
      },
      choiceFinished: (choice: number, c: ChoiceCounts) => {
        this.prefixCacheTokens.inc(c.cachedTokens);
        this.choicePromptTokens += c.promptTokens;
        this.choiceCachedTokens += c.cachedTokens;
        const first = firstTokenAt.get(choice);
        if (first !== undefined && c.generationTokens >= 2) {
          this.tpot.observe((performance.now() - first) / 1000 / (c.generationTokens - 1));
        }
      },
      finished: (c: RequestCounts) => {
        this.e2e.observe((performance.now() - arrival) / 1000);
        this.requestSuccess.inc();
        this.promptTokensTotal.inc(c.promptTokens);
        this.generationTokensTotal.inc(c.generationTokens);
        this.requestPromptTokens.observe(c.promptTokens);
        this.requestGenerationTokens.observe(c.generationTokens);
      },
      failed: () => {},
    };
  }

  /** A gauge set from the engine's stats at scrape time. */
  private engineGauge(name: string, help: string, read: (s: EngineStats) => number): void {
    const engine = this.opts.engine;
    new Gauge({
      name: `fastdeploy:${name}`,
      help,
      registers: [this.registry],
      collect() {
        this.set(read(engine.stats()));
      },
    });
  }
}
