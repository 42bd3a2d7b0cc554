import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseGoGctrace, parseJvmGcLog, parseNodeTraceGc, parsePythonGcJsonl } from './gc.js';
import { parseLogs } from './logs.js';
import { parsePerfScript } from './perf-script.js';
import { parseSpans } from './spans.js';
import { parseStrace } from './strace.js';
import { fuzzParser, type FuzzResult, type LineParseFn } from './testing/fuzz.js';

/**
 * Mutation fuzzing of the text parsers on the repo's real captures (test/fixtures). Each format
 * gets ITERATIONS mutated runs (FUZZ_ITERATIONS scales it; FUZZ_SEED changes the mutants).
 */

const ITERATIONS = Math.max(1, Number(process.env['FUZZ_ITERATIONS'] ?? 200) || 200);
const SEED = Number(process.env['FUZZ_SEED'] ?? 1) || 1;
const CAPTURES = new URL('../../../test/fixtures/', import.meta.url);
const SLICE_BYTES = 200 * 1024;

function fixture(rel: string): Uint8Array {
  const buf = readFileSync(new URL(rel, CAPTURES));
  return rel.endsWith('.gz') ? gunzipSync(buf) : buf;
}

/** The first ~`max` bytes, cut after a line end (records stay whole in the unmutated seed). */
function head(bytes: Uint8Array, max = SLICE_BYTES): Uint8Array {
  if (bytes.length <= max) return bytes;
  const nl = bytes.lastIndexOf(0x0a, max);
  return bytes.subarray(0, nl < 0 ? max : nl + 1);
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const LANGS = ['java', 'node', 'python'] as const;

async function run(name: string, seeds: readonly Uint8Array[], parse: LineParseFn): Promise<FuzzResult> {
  const r = await fuzzParser(name, seeds, parse, 'lines', { iterations: ITERATIONS, seed: SEED });
  console.log(
    `fuzz ${name.padEnd(18)} runs=${r.runs} items=${r.items} issues=${r.issues} maxMs=${r.maxMs.toFixed(1)}`,
  );
  expect(r.runs).toBe(seeds.length + ITERATIONS);
  return r;
}

const JAEGER = `{"data":[{"traceID":"edc74b88be0af659a08043f60130bb77","spans":[
  {"traceID":"edc74b88be0af659a08043f60130bb77","spanID":"9734abd03fb3038f","operationName":"OwnerController.initFindForm",
   "references":[{"refType":"CHILD_OF","traceID":"edc74b88be0af659a08043f60130bb77","spanID":"e16536121b7a1d19"}],
   "startTime":1658132533091033,"duration":9185,
   "tags":[{"key":"thread.id","type":"int64","value":137},{"key":"thread.name","type":"string","value":"http-nio-9000-exec-4"},
           {"key":"span.kind","type":"string","value":"internal"},{"key":"error","type":"bool","value":true}],
   "logs":[{"timestamp":1658132533092000,"fields":[{"key":"event","type":"string","value":"x"}]}],
   "processID":"p1","warnings":null},
  {"traceID":"edc74b88be0af659a08043f60130bb77","spanID":"e16536121b7a1d19","operationName":"GET /owners/find",
   "references":[],"startTime":1658132533090000,"duration":12000,
   "tags":[{"key":"span.kind","type":"string","value":"server"},{"key":"http.status_code","type":"int64","value":200}],
   "logs":[],"processID":"p1","warnings":null}],
  "processes":{"p1":{"serviceName":"petclinic","tags":[{"key":"host.name","type":"string","value":"h"}]}},
  "warnings":null}],"total":0,"limit":0,"offset":0,"errors":null}
`;

const ZIPKIN = `[{"traceId":"4e441824ec2b6a44ffdc9bb9a6453df3","id":"ffdc9bb9a6453df3","parentId":"ec2b6a44ffdc9bb9",
  "name":"get /api","kind":"SERVER","timestamp":1502787600000000,"duration":150000,
  "localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":9000},
  "remoteEndpoint":{"ipv4":"172.19.0.2","port":58648},
  "tags":{"http.method":"GET","http.path":"/api","thread.id":"137"}},
 {"traceId":"4e441824ec2b6a44ffdc9bb9a6453df3","id":"ec2b6a44ffdc9bb9","name":"root","kind":"CLIENT",
  "timestamp":1502787599990000,"duration":170000,"localEndpoint":{"serviceName":"frontend"},
  "annotations":[{"timestamp":1502787600010000,"value":"ws"}],"tags":{"error":"boom"}}]
{"traceId":"4e441824ec2b6a44","id":"0000000000000001","name":"one","timestamp":1502787600000001,"duration":1}
`;

const GO_GCTRACE = `starting
gc 1 @0.008s 0%: 0.016+0.25+0.005 ms clock, 0.13+0/0.17/0.033+0.041 ms cpu, 256->256->256 MB, 257 MB goal, 8 P (forced)
gc 2 @0.010s 1%: 0.012+0.1+0.004 ms clock, 0.1+0.01/0.12/0.03+0.03 ms cpu, 256->256->0 MB, 512 MB goal, 8 P
gc 3 @0.012s 1%: 0.014+0.073+0.003 ms clock, 0.11+0/0.096/0.049+0.025 ms cpu, 256->256->0 MB, 512 MB goal, 8 P (forced)
some program output
gc 4 @12.5s 1%: 0.014+0.073+0.003 ms clock, 0.11+0/0.096/0.049+0.025 ms cpu, 4->4->1 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 8 P
gc 5 @12.9s 2%: 1.5+20+0.02 ms clock, 12+3.1/40/7.5+0.16 ms cpu, 40->44->20 MB, 41 MB goal, 0 MB stacks, 0 MB globals, 8 P
`;

describe('fuzz: existing text parsers never throw, hang or emit malformed items', () => {
  it('perf script', async () => {
    const seeds = [
      ...LANGS.map((l) => head(fixture(`captures/${l}/perf.script.gz`))),
      head(fixture('demo/perf.script.gz')),
    ];
    await run('perf-script', seeds, (lines) => parsePerfScript(lines));
  });

  it('strace', async () => {
    const seeds = LANGS.map((l) => head(fixture(`captures/${l}/strace.txt.gz`)));
    await run('strace', seeds, (lines) => parseStrace(lines));
  });

  it('spans otlp-json', async () => {
    const java = fixture('captures/java/spans/spans.otlp.jsonl');
    const firstLine = new TextDecoder().decode(java).split('\n')[0] ?? '';
    const pretty = text(JSON.stringify(JSON.parse(firstLine), null, 2) + '\n');
    const seeds = [
      java,
      head(fixture('captures/node/spans/otlp-received.jsonl')),
      head(fixture('captures/python/spans/spans.otlp.jsonl')),
      pretty,
    ];
    await run('spans otlp-json', seeds, (lines) => parseSpans(lines, 'otlp-json'));
  });

  it('spans jaeger-json', async () => {
    const compact = JSON.stringify(JSON.parse(JAEGER)) + '\n';
    await run('spans jaeger-json', [text(JAEGER), text(compact)], (lines) =>
      parseSpans(lines, 'jaeger-json'),
    );
  });

  it('spans zipkin-json', async () => {
    await run('spans zipkin-json', [text(ZIPKIN)], (lines) => parseSpans(lines, 'zipkin-json'));
  });

  it('logs', async () => {
    const seeds = LANGS.map((l) => fixture(`captures/${l}/logs/app.log`));
    await run('logs', seeds, (lines) => parseLogs(lines));
  });

  it('gc jvm', async () => {
    await run('gc jvm', [fixture('captures/java/gc/gc.log')], parseJvmGcLog);
  });

  it('gc node', async () => {
    await run('gc node', [fixture('captures/node/gc/trace-gc.log')], parseNodeTraceGc);
  });

  it('gc go', async () => {
    await run('gc go', [text(GO_GCTRACE)], parseGoGctrace);
  });

  it('gc python', async () => {
    await run('gc python', [head(fixture('captures/python/gc/gc.jsonl'))], parsePythonGcJsonl);
  });
});
