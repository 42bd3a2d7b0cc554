#!/usr/bin/env node
// Records the OTLP protobuf fixtures of test/fixtures/formats/otlp-proto with the real
// OpenTelemetry JS SDK: spans go through BatchSpanProcessors to the OTLP/HTTP protobuf exporter
// and, for the cross-check, to the OTLP/HTTP JSON exporter, both pointed at a local HTTP server
// started here that keeps the request bodies.
//
//   node scripts/record-otlp-proto.mjs [out-dir]
//
// Writes:
//   export.binpb          the first protobuf request body (ExportTraceServiceRequest), as sent
//   export.json           the JSON request body of the same spans
//   collector-file.binpb  every protobuf body, each prefixed by its length as a 4-byte big-endian
//                         uint32, the layout of the Collector file exporter's `format: proto`
//   collector-file.jsonl  the JSON bodies, one per line (the file exporter's `format: json`)
import { mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const outDir = process.argv[2] ?? 'test/fixtures/formats/otlp-proto';

const bodies = { proto: [], json: [] };
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (req.url === '/proto/v1/traces') {
      bodies.proto.push(body);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    } else if (req.url === '/json/v1/traces') {
      bodies.json.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    } else {
      res.writeHead(404).end();
    }
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({
    'service.name': 'checkout',
    'service.version': '1.4.2',
    'process.pid': process.pid,
    'host.name': 'fixture-host',
  }),
  spanProcessors: [
    new BatchSpanProcessor(
      new ProtoTraceExporter({ url: `http://127.0.0.1:${port}/proto/v1/traces`, compression: 'none' }),
    ),
    new BatchSpanProcessor(
      new JsonTraceExporter({ url: `http://127.0.0.1:${port}/json/v1/traces`, compression: 'none' }),
    ),
  ],
});
const tracer = provider.getTracer('threadreel-fixture', '0.1.0');

// The OS thread id of this (main) thread, as `thread.id`.
const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
const BIG = 2 ** 60 + 2 ** 12; // an int64 beyond 2^53, exactly representable as a double
const busy = (ms) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};
const child = (parent, name, options) => tracer.startSpan(name, options, trace.setSpan(ROOT_CONTEXT, parent));

// Batch 1: a server span with a failing client call and an internal step.
{
  const server = tracer.startSpan('GET /orders/:id', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'GET',
      'http.route': '/orders/:id',
      'http.response.status_code': 200,
      'thread.id': tid,
      'thread.name': 'main',
      'order.big_id': BIG,
      'order.negative': -BIG,
      'order.tags': ['priority', 'gift'],
      'order.item_counts': [1, 2, 3],
      'order.express': true,
      'order.total': 42.5,
    },
  });
  busy(2);
  const db = child(server, 'SELECT orders', {
    kind: SpanKind.CLIENT,
    attributes: { 'db.system.name': 'postgresql', 'thread.id': tid, 'thread.name': 'main' },
  });
  busy(3);
  db.setStatus({ code: SpanStatusCode.ERROR, message: 'connection reset' });
  db.end();
  const render = child(server, 'render order', { kind: SpanKind.INTERNAL, attributes: { 'thread.id': tid } });
  render.addEvent('template loaded', { 'template.name': 'order.html' });
  busy(1);
  render.end();
  server.setStatus({ code: SpanStatusCode.OK });
  server.end();
}
await provider.forceFlush();

// Batch 2: another trace.
{
  const server = tracer.startSpan('POST /checkout', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'POST',
      'http.route': '/checkout',
      'thread.id': tid,
      'thread.name': 'main',
    },
  });
  const inv = child(server, 'GET inventory', {
    kind: SpanKind.CLIENT,
    attributes: { 'server.address': 'inventory' },
  });
  busy(2);
  inv.end();
  server.end();
}
await provider.forceFlush();

// Batch 3: one background span.
{
  const job = tracer.startSpan('reindex', { attributes: { 'thread.id': tid, 'thread.name': 'worker-1' } });
  busy(1);
  job.end();
}
await provider.forceFlush();
await provider.shutdown();
server.close();

if (bodies.proto.length !== 3 || bodies.json.length !== 3)
  throw new Error(
    `expected 3 bodies of each, got ${bodies.proto.length} proto and ${bodies.json.length} json`,
  );
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'export.binpb'), bodies.proto[0]);
writeFileSync(join(outDir, 'export.json'), bodies.json[0]);
const framed = bodies.proto.flatMap((b) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return [len, b];
});
writeFileSync(join(outDir, 'collector-file.binpb'), Buffer.concat(framed));
writeFileSync(
  join(outDir, 'collector-file.jsonl'),
  bodies.json.map((b) => `${b.toString('utf8')}\n`).join(''),
);
console.log(`wrote ${outDir}: ${bodies.proto.map((b) => b.length).join('+')} proto bytes`);
