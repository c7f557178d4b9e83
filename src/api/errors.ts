import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ObmenError } from '../core/errors.ts';

/** Every error body the API sends has this one shape. */
export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** An error meant for the caller: its status, code and message are sent as they are. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (code: string, message: string) => new ApiError(404, code, message);

export function errorBody(code: string, message: string): ApiErrorBody {
  return { error: { code, message } };
}

/**
 * Fastify's own request errors rewritten for people: the defaults say what broke inside the
 * framework, these say what the caller sent and what to send instead.
 */
function frameworkError(error: FastifyError, bodyLimit: number): ApiError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'invalid_json', 'the request body is not valid JSON; send a JSON object');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(
        400,
        'invalid_json',
        'the request body is empty but Content-Type is application/json; send a JSON object or no Content-Type',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(
        413,
        'payload_too_large',
        `the request body is larger than the limit of ${bodyLimit} bytes; send less (api.bodyLimit in obmen.yaml)`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'unsupported_media_type', 'send the request body as application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(
        400,
        'invalid_request',
        'the request body size does not match its Content-Length header',
      );
    default:
      return undefined;
  }
}

/** Installs the JSON error and not-found handlers on the root instance (they apply to every route). */
export function installErrorHandlers(
  app: FastifyInstance,
  bodyLimit: number,
  logger: Logger | undefined,
): void {
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    reply.code(404).send(errorBody('not_found', `no such endpoint: ${request.method} ${path}`));
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known =
      error instanceof ApiError
        ? error
        : error instanceof ObmenError && error.errorClass === 'config'
          ? new ApiError(400, 'invalid_request', error.message)
          : frameworkError(error, bodyLimit);
    if (known) {
      reply.code(known.statusCode).send(errorBody(known.code, known.message));
      return;
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      reply.code(error.statusCode).send(errorBody('invalid_request', error.message));
      return;
    }
    // The detail may hold SQL or internal paths: it goes to the log, never to the caller.
    logger?.error({ err: error, method: request.method, url: request.url }, 'API request failed');
    reply
      .code(500)
      .send(
        errorBody('internal', 'the server could not complete the request; the server log has the details'),
      );
  });
}
