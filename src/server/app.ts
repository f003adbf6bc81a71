/**
 * The HTTP front: fastify with TypeBox validation, OpenAI error bodies, JSON or SSE responses. Endpoint logic
 * lives in serving/; this file only wires routes, aborts and transport.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { ChatCompletionRequestSchema, CompletionRequestSchema } from '../protocol/schemas.ts';
import { createServing, type ServingOptions } from '../serving/index.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { ServerMetrics } from './metrics.ts';
import { sendSse } from './sse.ts';

/** The server observes its requests itself (`GET /metrics`), so callers pass no observer. */
export interface ServerOptions extends Omit<ServingOptions, 'observer'> {
  /** fastify logger setting (default off) */
  logger?: FastifyServerOptions['logger'];
  /** largest accepted request body in bytes (default 32 MiB: long prompts and token-id arrays are big) */
  bodyLimit?: number;
  /** --max-num-seqs, reported as fastdeploy:max_batch_size on /metrics */
  maxBatchSize?: number;
}

/**
 * An AbortSignal that fires when the client goes away before the response is complete (api-spec Decisions
 * §10). The response's 'close' is the reliable signal: the request's 'close' fires as soon as the body is read.
 */
function clientGone(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}

export function createServer(options: ServerOptions): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 32 * 1024 * 1024,
    // No coercion ("0.5" stays a string and is rejected) and no stripping: the schemas are open (unknown keys
    // ignored), so validation must not rewrite the body (dependencies.md §2).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const metrics = new ServerMetrics({ engine: options.engine, maxBatchSize: options.maxBatchSize });
  const serving = createServing({ ...options, observer: metrics });

  // The API speaks JSON only; without fastify's text/plain parser a text body is reported as a wrong content
  // type instead of a confusing "body must be object".
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  const logStreamError = (err: unknown): void => app.log.error({ err }, 'stream failed');

  app.post('/v1/chat/completions', { schema: { body: ChatCompletionRequestSchema } }, async (request, reply) => {
    const result = await serving.chat.create(request.body, clientGone(reply));
    if (!result.stream) return result.body;
    await sendSse(reply, result.chunks, logStreamError);
    return reply;
  });

  app.post('/v1/completions', { schema: { body: CompletionRequestSchema } }, async (request, reply) => {
    const result = await serving.completions.create(request.body, clientGone(reply));
    if (!result.stream) return result.body;
    await sendSse(reply, result.chunks, logStreamError);
    return reply;
  });

  app.get('/v1/models', async () => serving.models());

  // Prometheus text exposition (api-spec §11); the engine gauges are read at scrape time.
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.metrics();
    return reply.type(metrics.contentType).send(text);
  });

  // Liveness: 200 with an empty body (api-spec §3.1); /ping is SageMaker's name for the same check. A dead
  // engine makes the server useless, so load balancers must see it: 503 (api-spec Decisions §1).
  const healthy = async (_req: unknown, reply: FastifyReply): Promise<void> => {
    if (options.engine.alive) await reply.status(200).send();
    else await reply.status(503).type('text/plain').send('Worker Service Not Healthy');
  };
  app.get('/health', healthy);
  app.route({ method: ['GET', 'POST'], url: '/ping', handler: healthy });

  return app as unknown as FastifyInstance;
}
