import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { App } from '../../store/types.ts';
import { TRACE_RECORD_HEADER } from '../../tunnel/protocol.ts';
import { continueTrace, formatTraceparent, type SpanSink } from '../../lib/trace-context.ts';

/** The edge's tracing settings (config `tracing:`); one object, changed in place on a configuration reload. */
export interface EdgeTracing {
  /** Where recorded spans go; null: tracing off (traceparent is still continued and sent on). */
  sink: SpanSink | null;
  sampleRatio: number;
}

/**
 * Puts this hop's W3C traceparent on the tunnel stream (the client's trace continued, or a new one) and, when the
 * trace is recorded, marks the stream so the connector records its span too, and records the edge's span when the
 * response closes.
 */
export function traceRequest(
  tracing: EdgeTracing,
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  method: string,
  headers: OutgoingHttpHeaders,
  correlationId: string,
): void {
  const sink = tracing.sink;
  const sampleNew = sink !== null && tracing.sampleRatio > 0 && Math.random() < tracing.sampleRatio;
  const trace = continueTrace(req.headers.traceparent, sampleNew);
  headers.traceparent = formatTraceparent(trace);
  if (sink === null || !trace.sampled) return;
  headers[TRACE_RECORD_HEADER] = '1';
  const startMs = performance.now();
  res.once('close', () => {
    const status = res.headersSent ? res.statusCode : 0;
    sink.end({
      name: `${method} ${app.name}`,
      kind: 'server',
      traceId: trace.traceId,
      spanId: trace.spanId,
      parentSpanId: trace.parentSpanId,
      startMs,
      endMs: performance.now(),
      error: status === 0 || status >= 500 || !res.writableFinished,
      attributes: {
        'http.request.method': method,
        'http.response.status_code': status,
        'drawbridge.app': app.id,
        correlationId,
      },
    });
  });
}
