import type { Logger } from './log.ts';
import type { SpanRecord } from './trace-context.ts';

/**
 * OTLP/HTTP JSON export of finished spans (https://opentelemetry.io/docs/specs/otlp/#otlphttp): batched, at most one
 * POST in flight, a bounded queue (spans beyond it are dropped and counted, never buffered without limit). Written
 * here because @opentelemetry/* is not a dependency; `@opentelemetry/exporter-trace-otlp-http` with the SDK would
 * replace it.
 */
export interface OtlpExporter {
  add(span: SpanRecord): void;
  /** Sends what is queued; resolves when the POST is done (or failed: export never throws). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const MAX_QUEUE = 2048;
const MAX_BATCH = 512;
const FLUSH_INTERVAL_MS = 1_000;
const KIND = { server: 2, client: 3 } as const;

export function createOtlpExporter(options: { endpoint: string; serviceName: string; logger: Logger }): OtlpExporter {
  const url = new URL('v1/traces', options.endpoint.endsWith('/') ? options.endpoint : `${options.endpoint}/`).href;
  let queue: SpanRecord[] = [];
  let dropped = 0;
  let sending: Promise<void> | null = null;
  const timer = setInterval(() => void flush(), FLUSH_INTERVAL_MS);
  timer.unref();

  function flush(): Promise<void> {
    if (sending) return sending;
    if (queue.length === 0) return Promise.resolve();
    const batch = queue.slice(0, MAX_BATCH);
    queue = queue.slice(MAX_BATCH);
    sending = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload(batch, options.serviceName)),
      signal: AbortSignal.timeout(10_000),
    })
      .then(
        async (res) => {
          await res.arrayBuffer().catch(() => {});
          if (!res.ok)
            options.logger.warn({ endpoint: url, status: res.status, spans: batch.length }, 'OTLP export refused');
        },
        (err: Error) =>
          options.logger.warn({ endpoint: url, err: err.message, spans: batch.length }, 'OTLP export failed'),
      )
      .finally(() => {
        sending = null;
        if (dropped > 0) {
          options.logger.warn({ dropped }, 'OTLP export: queue full, spans dropped');
          dropped = 0;
        }
      });
    return sending;
  }

  return {
    add(span) {
      if (queue.length >= MAX_QUEUE) {
        dropped++;
        return;
      }
      queue.push(span);
      if (queue.length >= MAX_BATCH) void flush();
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
      await flush();
    },
  };
}

/** ExportTraceServiceRequest in OTLP's JSON mapping (ids hex, times as nanosecond strings). */
function payload(spans: SpanRecord[], serviceName: string): unknown {
  const origin = performance.timeOrigin;
  const nanos = (ms: number): string => (BigInt(Math.round((origin + ms) * 1000)) * 1000n).toString();
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: serviceName } }] },
        scopeSpans: [
          {
            scope: { name: 'drawbridge' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: KIND[s.kind],
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(s.endMs),
              attributes: Object.entries(s.attributes).map(([key, v]) => ({
                key,
                value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v },
              })),
              status: { code: s.error ? 2 : 1 },
            })),
          },
        ],
      },
    ],
  };
}
