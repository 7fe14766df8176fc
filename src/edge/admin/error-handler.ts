/** Every admin API failure leaves as the catalogue's JSON body, with the correlation id in body, header and log. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { renderError } from '../../errors/render.ts';

export const CORRELATION_HEADER = 'x-correlation-id';

export function sendError(reply: FastifyReply, code: ErrorCode, detail?: string): FastifyReply {
  const rendered = renderError(code, reply.request.id, 'application/json', detail);
  return reply.code(rendered.status).type(rendered.contentType).header(CORRELATION_HEADER, reply.request.id).send(rendered.body);
}

/** Ajv's errors as `body.name: must match pattern …`, the field first so a person finds it. */
function validationDetail(err: FastifyError): string {
  const where = err.validationContext ?? 'request';
  return (err.validation ?? [])
    .map((v) => {
      const missing = (v.params as { missingProperty?: string; additionalProperty?: string } | undefined);
      const path = `${where}${v.instancePath.replaceAll('/', '.')}`;
      if (v.keyword === 'required' && missing?.missingProperty) return `${path}.${missing.missingProperty}: is required`;
      if (v.keyword === 'additionalProperties' && missing?.additionalProperty) return `${path}.${missing.additionalProperty}: is not a known field`;
      return `${path}: ${v.message ?? 'is not valid'}`;
    })
    .join('; ');
}

export function errorHandler(err: FastifyError | DrawbridgeError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof DrawbridgeError) {
    const level = err.status >= 500 ? 'error' : 'info';
    request.log[level]({ code: err.code, err: err.status >= 500 ? err : undefined, detail: err.detail }, 'admin api refused');
    return sendError(reply, err.code, err.detail);
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const detail = validationDetail(fe);
    request.log.info({ code: 'DB-ADMIN-INVALID', detail }, 'admin api refused');
    return sendError(reply, 'DB-ADMIN-INVALID', detail);
  }
  // Fastify's own client errors: unparsable JSON, wrong content type, body too large.
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    request.log.info({ code: 'DB-ADMIN-INVALID', fastifyCode: fe.code }, 'admin api refused');
    return sendError(reply, 'DB-ADMIN-INVALID', fe.message);
  }
  request.log.error({ code: 'DB-INTERNAL', err }, 'admin api failed');
  return sendError(reply, 'DB-INTERNAL');
}
