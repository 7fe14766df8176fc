import { randomFillSync } from 'node:crypto';
import type { Logger } from './log.ts';

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): `traceparent: 00-<trace id>-<parent span id>-<flags>`.
 * The edge continues a client's trace (or starts one), sends its own span id on the tunnel stream; the connector
 * sends the backend the same trace id with a span id of its own. No OpenTelemetry SDK is needed for that; spans are
 * logged (`span` lines with traceId/spanId/parentSpanId) and, when an OTLP endpoint is set, exported over OTLP/HTTP
 * JSON (otlp-export.ts).
 */
export interface TraceContext {
  traceId: string;
  /** The caller's span (the client's, or the edge's for the connector); empty when this hop starts the trace. */
  parentSpanId: string;
  /** This hop's span, sent on as the next hop's parent. */
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The caller's trace id, span id and sampled flag, or null for a missing or malformed header (then a new trace). */
export function parseTraceparent(value: unknown): { traceId: string; spanId: string; sampled: boolean } | null {
  if (typeof value !== 'string' || value.length < 55 || value.length > 512) return null;
  // test() and fixed offsets rather than exec()'s match array: this runs for every request on both hops.
  if (!TRACEPARENT.test(value)) return null;
  const version = value.slice(0, 2);
  const traceId = value.slice(3, 35);
  const spanId = value.slice(36, 52);
  if (version === 'ff' || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  // Version 00 is exactly 55 characters; a later version may add fields after the flags.
  if (version === '00' && value.length !== 55) return null;
  return { traceId, spanId, sampled: (parseInt(value.slice(53, 55), 16) & 1) === 1 };
}

export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

/** This hop's span in the caller's trace, or the first span of a new one (sampled as `sampleNew` says). */
export function continueTrace(header: unknown, sampleNew: boolean): TraceContext {
  const parent = parseTraceparent(header);
  if (parent)
    return { traceId: parent.traceId, parentSpanId: parent.spanId, spanId: newSpanId(), sampled: parent.sampled };
  return { traceId: randomHex(16), parentSpanId: '', spanId: newSpanId(), sampled: sampleNew };
}

export function newSpanId(): string {
  return randomHex(8);
}

// Random ids from a pooled buffer: one getrandom call per 512 ids rather than one per id.
const pool = Buffer.alloc(4096);
let offset = pool.length;
function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}

/** A finished span as logged and exported. */
export interface SpanRecord {
  name: string;
  kind: 'server' | 'client';
  traceId: string;
  spanId: string;
  parentSpanId: string;
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number>;
  error: boolean;
}

/** Where finished spans go: a `span` log line each, and the OTLP exporter when one is configured. */
export class SpanSink {
  readonly #logger: Logger;
  readonly #export: ((span: SpanRecord) => void) | null;
  constructor(logger: Logger, exporter: ((span: SpanRecord) => void) | null) {
    this.#logger = logger;
    this.#export = exporter;
  }

  end(span: SpanRecord): void {
    this.#logger.info(
      {
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId || undefined,
        span: span.name,
        durationMs: Math.round((span.endMs - span.startMs) * 10) / 10,
        ...span.attributes,
      },
      'span',
    );
    this.#export?.(span);
  }
}
