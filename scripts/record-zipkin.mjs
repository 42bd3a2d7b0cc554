#!/usr/bin/env node
// Records the Zipkin v2 JSON fixtures of test/fixtures/formats/zipkin with the real
// OpenTelemetry JS SDK: spans go through a BatchSpanProcessor to
// @opentelemetry/exporter-zipkin pointed at a local HTTP server started here that keeps the
// POST bodies exactly as sent.
//
//   node scripts/record-zipkin.mjs [out-dir]
//
// Writes post-1.json, post-2.json, post-3.json: the request bodies, one per flush, as sent
// (a JSON array of Zipkin v2 spans on one line).
import { mkdirSync, readlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const outDir = process.argv[2] ?? 'test/fixtures/formats/zipkin';

const bodies = [];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/api/v2/spans') {
      bodies.push(Buffer.concat(chunks));
      res.writeHead(202).end();
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
    'host.name': 'fixture-host',
  }),
  spanProcessors: [
    new BatchSpanProcessor(new ZipkinExporter({ url: `http://127.0.0.1:${port}/api/v2/spans` })),
  ],
});
const tracer = provider.getTracer('threadreel-fixture', '0.1.0');

// The OS thread id of this (main) thread, as `thread.id`.
const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
const busy = (ms) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};
const child = (parent, name, options) => tracer.startSpan(name, options, trace.setSpan(ROOT_CONTEXT, parent));

// Batch 1: a server span with a failing client call and an internal step with an event.
{
  const root = tracer.startSpan('GET /orders/:id', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'GET',
      'http.route': '/orders/:id',
      'http.response.status_code': 200,
      'thread.id': tid,
      'thread.name': 'main',
      'order.express': true,
      'order.total': 42.5,
      'order.tags': ['priority', 'gift'],
    },
  });
  busy(2);
  const db = child(root, 'SELECT orders', {
    kind: SpanKind.CLIENT,
    attributes: { 'db.system.name': 'postgresql', 'thread.id': tid, 'thread.name': 'main' },
  });
  busy(3);
  db.setStatus({ code: SpanStatusCode.ERROR, message: 'connection reset' });
  db.end();
  const render = child(root, 'render order', { kind: SpanKind.INTERNAL, attributes: { 'thread.id': tid } });
  render.addEvent('template loaded', { 'template.name': 'order.html' });
  busy(1);
  render.end();
  root.setStatus({ code: SpanStatusCode.OK });
  root.end();
}
await provider.forceFlush();

// Batch 2: a producer/consumer pair in another trace.
{
  const root = tracer.startSpan('POST /checkout', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'POST', 'thread.id': tid, 'thread.name': 'main' },
  });
  const send = child(root, 'publish order', { kind: SpanKind.PRODUCER });
  busy(1);
  send.end();
  const recv = child(send, 'consume order', { kind: SpanKind.CONSUMER, attributes: { 'thread.id': tid } });
  busy(1);
  recv.end();
  root.end();
}
await provider.forceFlush();

// Batch 3: one background span with no attributes.
{
  const job = tracer.startSpan('reindex');
  busy(1);
  job.end();
}
await provider.forceFlush();
await provider.shutdown();
server.close();

if (bodies.length !== 3) throw new Error(`expected 3 POST bodies, got ${bodies.length}`);
mkdirSync(outDir, { recursive: true });
bodies.forEach((b, i) => writeFileSync(join(outDir, `post-${i + 1}.json`), b));
console.log(`wrote ${outDir}: ${bodies.map((b) => b.length).join('+')} bytes, thread.id ${tid}`);
