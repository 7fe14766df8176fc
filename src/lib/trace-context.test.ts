import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { continueTrace, formatTraceparent, parseTraceparent } from './trace-context.ts';
import { createOtlpExporter } from './otlp-export.ts';
import { createLogger } from './log.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

test('traceparent: a valid header is continued with a new span; anything else starts a trace', () => {
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, spanId: SPAN, sampled: true });
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled, false);
  // A later version may carry more fields; version 00 may not; ff, zero ids and upper case are invalid.
  assert.equal(parseTraceparent(`01-${TRACE}-${SPAN}-01-extra`)?.traceId, TRACE);
  for (const bad of [
    `00-${TRACE}-${SPAN}-01-extra`,
    `ff-${TRACE}-${SPAN}-01`,
    `00-${'0'.repeat(32)}-${SPAN}-01`,
    `00-${TRACE}-${'0'.repeat(16)}-01`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    '',
    undefined,
    ['x'],
  ]) {
    assert.equal(parseTraceparent(bad), null, String(bad));
  }
  const next = continueTrace(`00-${TRACE}-${SPAN}-01`, false);
  assert.equal(next.traceId, TRACE);
  assert.equal(next.parentSpanId, SPAN);
  assert.notEqual(next.spanId, SPAN);
  assert.match(formatTraceparent(next), new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
  const fresh = continueTrace('garbage', true);
  assert.match(fresh.traceId, /^[0-9a-f]{32}$/);
  assert.equal(fresh.parentSpanId, '');
  assert.equal(fresh.sampled, true);
  assert.notEqual(continueTrace(undefined, false).traceId, fresh.traceId);
});

test('OTLP/HTTP JSON export: spans reach <endpoint>/v1/traces with their ids, kind and times', async () => {
  const bodies: { url: string; body: unknown }[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString();
    });
    req.on('end', () => {
      bodies.push({ url: req.url ?? '', body: JSON.parse(text) });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const exporter = createOtlpExporter({
      endpoint: `http://127.0.0.1:${port}`,
      serviceName: 'test-edge',
      logger: createLogger('test', 'silent'),
    });
    exporter.add({
      name: 'GET hr',
      kind: 'server',
      traceId: TRACE,
      spanId: SPAN,
      parentSpanId: '',
      startMs: performance.now(),
      endMs: performance.now() + 5,
      attributes: { 'http.response.status_code': 200, 'drawbridge.app': 'app_1' },
      error: false,
    });
    await exporter.close();
    assert.equal(bodies.length, 1);
    assert.equal(bodies[0].url, '/v1/traces');
    const rs = (
      bodies[0].body as {
        resourceSpans: { resource: { attributes: unknown[] }; scopeSpans: { spans: Record<string, unknown>[] }[] }[];
      }
    ).resourceSpans[0];
    assert.deepEqual(rs.resource.attributes, [{ key: 'service.name', value: { stringValue: 'test-edge' } }]);
    const span = rs.scopeSpans[0].spans[0];
    assert.equal(span.traceId, TRACE);
    assert.equal(span.spanId, SPAN);
    assert.equal(span.parentSpanId, undefined);
    assert.equal(span.kind, 2);
    assert.ok(BigInt(span.endTimeUnixNano as string) > BigInt(span.startTimeUnixNano as string));
    assert.ok(BigInt(span.startTimeUnixNano as string) > BigInt(Date.now() - 60_000) * 1_000_000n);
  } finally {
    server.close();
  }
});
