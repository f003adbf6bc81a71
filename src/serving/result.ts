/**
 * What an endpoint handler hands to the transport: a whole JSON body, or a sequence of chunks to send as
 * server-sent events. A chunk sequence may throw after it started (engine failure); the transport then sends
 * the error as a last event (api-spec §3.5 item 3).
 */
export type HandlerResult<Body, Chunk> = { stream: false; body: Body } | { stream: true; chunks: AsyncIterable<Chunk> };
