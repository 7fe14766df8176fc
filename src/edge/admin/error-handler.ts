/** Every admin API failure leaves as the catalogue's JSON body, with the correlation id in body, header and log. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { renderError } from '../../errors/render.ts';

export const CORRELATION_HEADER = 'x-correlation-id';

export function sendError(reply: FastifyReply, code: ErrorCode, detail?: string): FastifyReply {
  const rendered = renderError(code, reply.request.id, 'application/json', detail);
  return reply
    .code(rendered.status)
    .type(rendered.contentType)
    .header(CORRELATION_HEADER, reply.request.id)
    .send(rendered.body);
}

/**
 * Ajv's errors as `body.backendTimeout: must be <= 3600 (or default, long)`: the field first so a person finds it,
 * one clause per field, and the alternatives of a union folded into one clause.
 */
function validationDetail(err: FastifyError): string {
  const where = err.validationContext ?? 'request';
  const byPath = new Map<string, { keyword: string; message?: string; params: Record<string, unknown> }[]>();
  for (const v of err.validation ?? []) {
    const params = (v.params ?? {}) as Record<string, unknown>;
    let path = `${where}${v.instancePath.replaceAll('/', '.')}`;
    if (v.keyword === 'required') path += `.${String(params.missingProperty)}`;
    if (v.keyword === 'additionalProperties') path += `.${String(params.additionalProperty)}`;
    byPath.set(path, [...(byPath.get(path) ?? []), { keyword: v.keyword, message: v.message, params }]);
  }
  return [...byPath]
    .map(([path, errors]) => {
      const allowed = errors.filter((e) => e.keyword === 'const').map((e) => String(e.params.allowedValue));
      const other = errors.find((e) => e.keyword !== 'const' && e.keyword !== 'anyOf');
      if (other?.keyword === 'required') return `${path}: is required`;
      if (other?.keyword === 'additionalProperties') return `${path}: is not a known field`;
      if (other)
        return `${path}: ${other.message ?? 'is not valid'}${allowed.length ? ` (or ${allowed.join(', ')})` : ''}`;
      if (allowed.length) return `${path}: must be one of ${allowed.join(', ')}`;
      return `${path}: ${errors[0].message ?? 'is not valid'}`;
    })
    .join('; ');
}

export function errorHandler(
  err: FastifyError | DrawbridgeError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (err instanceof DrawbridgeError) {
    const level = err.status >= 500 ? 'error' : 'info';
    request.log[level](
      { code: err.code, err: err.status >= 500 ? err : undefined, detail: err.detail },
      'admin api refused',
    );
    return sendError(reply, err.code, err.detail);
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const detail = validationDetail(fe);
    request.log.info({ code: 'DB-ADMIN-INVALID', detail }, 'admin api refused');
    return sendError(reply, 'DB-ADMIN-INVALID', detail);
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    request.log.info(
      { code: 'DB-ADMIN-BODY-TOO-LARGE', contentLength: request.headers['content-length'] },
      'admin api refused',
    );
    return sendError(
      reply,
      'DB-ADMIN-BODY-TOO-LARGE',
      `the body exceeds the admin API's limit of ${request.routeOptions.bodyLimit ?? 0} bytes`,
    );
  }
  // Fastify's own client errors: unparsable JSON, wrong content type.
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    request.log.info({ code: 'DB-ADMIN-INVALID', fastifyCode: fe.code }, 'admin api refused');
    return sendError(reply, 'DB-ADMIN-INVALID', fe.message);
  }
  request.log.error({ code: 'DB-INTERNAL', err }, 'admin api failed');
  return sendError(reply, 'DB-INTERNAL');
}
