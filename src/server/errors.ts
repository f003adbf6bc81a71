/**
 * One place that maps every error to an OpenAI error body: schema validation, body parsing and content type
 * (400), ApiErrors from serving/ (their own status), and everything else (500, logged).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, errorBody } from '../protocol/errors.ts';
import { schemaErrorToApiError } from '../protocol/validation.ts';

function toApiError(err: FastifyError | ApiError | Error): ApiError {
  if (err instanceof ApiError) return err;
  const fe = err as FastifyError;
  if (fe.validation) return schemaErrorToApiError(fe.validation);
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, `The request body is not valid JSON: ${fe.message}`, { code: 'invalid_json' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'The request body is empty; send a JSON object.', { code: 'invalid_json' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      // Reported as 400 (not fastify's 415) like every other malformed request.
      return new ApiError(
        400,
        `Unsupported request body: ${fe.message}. Send the JSON body with Content-Type: application/json.`,
        {
          code: 'invalid_content_type',
        },
      );
  }
  const status = fe.statusCode;
  if (status !== undefined && status >= 400 && status < 500)
    return new ApiError(status, fe.message, { code: fe.code ?? null });
  return new ApiError(500, `Internal server error: ${err.message}`, { type: 'internal_error', code: 'internal_error' });
}

export function errorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const api = toApiError(err);
  if (api.status >= 500) request.log.error({ err }, 'request failed');
  void reply.status(api.status).send(api.toBody());
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  void reply.status(404).send(errorBody(`Not found: ${request.method} ${request.url}`, { code: 'not_found' }));
}
