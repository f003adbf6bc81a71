/**
 * Server-sent events over a hijacked reply: `data: <json>\n\n` per chunk, an error event if the chunk source
 * fails mid-stream, and always `data: [DONE]\n\n` at the end (api-spec §7, Decisions §11).
 */
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { toApiError } from '../protocol/errors.ts';

/** Writes respecting back-pressure; false once the client is gone. */
async function write(res: ServerResponse, data: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(data)) return true;
  await Promise.race([once(res, 'drain'), once(res, 'close')]);
  return !res.destroyed;
}

export async function sendSse(
  reply: FastifyReply,
  chunks: AsyncIterable<unknown>,
  onError: (err: unknown) => void,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  // Headers set by hooks (CORS, request ids, …) must survive the hijack.
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) res.setHeader(name, value);
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // Send the status line now: clients learn the request was accepted before the first token is ready.
  res.flushHeaders();
  try {
    for await (const chunk of chunks) {
      if (!(await write(res, `data: ${JSON.stringify(chunk)}\n\n`))) break;
    }
  } catch (err) {
    // The status line is already out: the error travels as the last event (api-spec §3.5 item 3).
    onError(err);
    await write(res, `data: ${JSON.stringify(toApiError(err).toBody())}\n\n`);
  }
  await write(res, 'data: [DONE]\n\n');
  if (!res.destroyed) res.end();
}
