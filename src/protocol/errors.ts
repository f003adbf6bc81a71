/**
 * OpenAI-style error objects. Every error that reaches a client has the body
 * `{"error":{"message","type","param","code"}}` with all four keys present (api-spec §3.5); the HTTP status
 * follows api-spec Decisions §1 (parameter errors 400, unknown model 404, real faults 500).
 */

export type ErrorType = 'invalid_request_error' | 'internal_error' | 'timeout_error' | 'server_error';

export interface ErrorBody {
  error: { message: string; type: ErrorType | null; param: string | null; code: string | null };
}

/** An error that carries its HTTP status and OpenAI error fields; thrown by protocol/ and serving/. */
export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | null;
  readonly code: string | null;

  constructor(
    status: number,
    message: string,
    opts: { type?: ErrorType; param?: string | null; code?: string | null } = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = opts.type ?? (status >= 500 ? 'internal_error' : 'invalid_request_error');
    this.param = opts.param ?? null;
    this.code = opts.code ?? null;
  }

  toBody(): ErrorBody {
    return errorBody(this.message, { type: this.type, param: this.param, code: this.code });
  }
}

export function errorBody(
  message: string,
  opts: { type?: ErrorType | null; param?: string | null; code?: string | null } = {},
): ErrorBody {
  return {
    error: {
      message,
      type: opts.type === undefined ? 'invalid_request_error' : opts.type,
      param: opts.param ?? null,
      code: opts.code ?? null,
    },
  };
}

/** A parameter the client got wrong (400, code invalid_value unless told otherwise). */
export function badRequest(
  message: string,
  param: string | null = null,
  code: string | null = 'invalid_value',
): ApiError {
  return new ApiError(400, message, { param, code });
}

export function modelNotFound(model: string): ApiError {
  return new ApiError(404, `The model \`${model}\` does not exist.`, { param: 'model', code: 'model_not_found' });
}

export function internalError(message: string): ApiError {
  return new ApiError(500, message, { type: 'internal_error', code: 'internal_error' });
}

/** Converts anything thrown into an ApiError; unknown exceptions are internal faults. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return internalError(message);
}
