// Grows a real plain-tools capture (test/fixtures/plain/*) in time: k consecutive copies of
// every file, copy i shifted by i × period in the file's own time representation (perf
// script `secs.usecs:`, strace -ttt epoch seconds, ISO log times, OTLP unix nanos, JVM
// unified-logging uptime), with the trace and span ids of copy i rewritten (the first 8 hex
// digits XOR i, the same in spans and logs) and JVM GC ids continued, so every copy is its
// own set of requests of the same long-running process. Copy i starts i periods after copy 0
// plus a jitter of 0–999 ms (a fixed hash of i): the period is the fixture's span on the
// epoch axis (its clocks.json says where each file's clock sits) rounded up to whole seconds
// plus 2 s, so no copy overlaps the next and every file stays in time order. The jitter keeps
// the copies from repeating at one exact period, which no real capture does and which makes
// the clock inference (perf against strace) see every copy distance as an equally good offset.
//
// The output is streamed copy by copy through gzip: the grown capture is never in memory.
import { copyFileSync, createWriteStream, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gunzipSync } from 'node:zlib';

const NS = 1_000_000_000n;
const NOT_UPLOADED = [/^clocks\.json$/, /^ground-truth\.json$/, /^README/];

/** Ids of the spans (hex) in any OTLP/JSON text: the tokens rewritten per copy. */
const ID_FIELD = /"(?:traceId|spanId|parentSpanId)":"([0-9a-f]{16}|[0-9a-f]{32})"/g;
const ID_TOKEN = /\b(?<v>[0-9a-f]{32}|[0-9a-f]{16})\b/dg;
const ISO = String.raw`(?<v>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,9})?)(?<z>Z|[+-]\d\d:?\d\d)`;

/** Decimal seconds `123.456789` → { ns, digits }. */
function decimal(text) {
  const [s, f = ''] = text.split('.');
  return { ns: BigInt(s) * NS + BigInt(f.padEnd(9, '0').slice(0, 9)), digits: f.length };
}

function zoneMinutes(z) {
  if (z === 'Z') return 0;
  const d = z.replace(':', '');
  return (d[0] === '-' ? -1 : 1) * (Number(d.slice(1, 3)) * 60 + Number(d.slice(3, 5)));
}

/** How each kind of file is grown: what its time slots look like and which of them start an event. */
const KINDS = {
  perf: {
    // `comm tid [cpu] secs.usecs: event: …` (stack lines start with a tab).
    sniff: /^\S[^\n]*?\s\d+\.\d{6,9}: /m,
    rules: [
      {
        re: /^(?<pre>[^\t\n][^\n]*?)\s(?<v>\d+\.\d+):\s+(?:\d+\s+)?(?<ev>[^\s:]+(?::[^\s:]+)?)/dgm,
        slot: (m) => ({ t: 'dec', ...decimal(m.groups.v) }),
        record: (m) => ({
          tid: Number(
            /(\d+)(?:\/(\d+))?\s+(?:\[\d+\]\s*)?$/.exec(m.groups.pre)?.slice(1).findLast(Boolean) ?? 0,
          ),
          kind: m.groups.ev,
        }),
      },
    ],
  },
  strace: {
    sniff: /^\d+\s+\d+\.\d+ /,
    rules: [
      {
        re: /^(?<tid>\d+)\s+(?<v>\d+\.\d+)\s/dgm,
        slot: (m) => ({ t: 'dec', ...decimal(m.groups.v) }),
        // A call split by another thread counts once: at its `<... resumed>` line.
        record: (m) =>
          lineAt(m).endsWith('<unfinished ...>') ? null : { tid: Number(m.groups.tid), kind: 'syscall' },
      },
    ],
  },
  'jvm-gc': {
    // -Xlog decorators: uptime `[1.234s]`, `[12ms]`/`[12ns]`, or ISO times.
    sniff: /^\[(?:\d+\.\d+s|\d+ms|\d+ns|\d{4}-\d\d-\d\dT[^\]]*)\]/,
    rules: [
      {
        re: /^\[(?<v>\d+\.\d+)s\]/dgm,
        slot: (m) => ({ t: 'dec', ...decimal(m.groups.v) }),
        record: gcRecord,
      },
      {
        re: /^\[(?<v>\d+)(?<u>ms|ns)\]/dgm,
        slot: (m) => ({ t: 'int', v: BigInt(m.groups.v), unit: m.groups.u === 'ms' ? 1_000_000n : 1n }),
        record: gcRecord,
      },
      { re: new RegExp(String.raw`^\[${ISO}\]`, 'dgm'), slot: isoSlot, record: gcRecord },
      { re: /\bGC\((?<v>\d+)\)/dg, slot: (m) => ({ t: 'gcid', n: Number(m.groups.v) }) },
    ],
  },
  log: {
    sniff: new RegExp(`^${ISO}`),
    rules: [
      { re: new RegExp(`^${ISO}`, 'dgm'), slot: isoSlot, record: () => ({ tid: 0, kind: 'log' }) },
      { re: ID_TOKEN, slot: idSlot },
    ],
  },
  otlp: {
    sniff: /^\{"resourceSpans"/,
    rules: [
      {
        re: /"(?<k>\w*[tT]imeUnixNano)":"?(?<v>\d+)/dg,
        slot: (m) => ({ t: 'int', v: BigInt(m.groups.v), unit: 1n }),
        record: (m) => (m.groups.k === 'startTimeUnixNano' ? { tid: 0, kind: 'span' } : null),
      },
      { re: ID_TOKEN, slot: idSlot },
    ],
  },
};

/** The line a match starts on (matches at a line start only). */
function lineAt(m) {
  const eol = m.input.indexOf('\n', m.index);
  return m.input.slice(m.index, eol < 0 ? undefined : eol);
}

function gcRecord(m) {
  const line = lineAt(m);
  return /(?:GC\(\d+\) (?:Pause|Concurrent)|Safepoint ").*\d(?:ms| ns)$/.test(line)
    ? { tid: 0, kind: 'gc' }
    : null;
}

function isoSlot(m) {
  const [date, frac = ''] = m.groups.v.split('.');
  const offsetMin = zoneMinutes(m.groups.z);
  const utcMs = Date.parse(`${date.replace(' ', 'T')}Z`) - offsetMin * 60_000;
  return {
    t: 'iso',
    ns: BigInt(utcMs) * 1_000_000n + BigInt(frac.padEnd(9, '0')),
    digits: frac.length,
    sep: date[10],
    offsetMin,
  };
}

/** An id token, when it is one of the capture's span/trace ids (other hex is left alone). */
function idSlot(m, ids) {
  return ids.has(m.groups.v) ? { t: 'id', hex: m.groups.v } : null;
}

/** A slot of copy `i`, `shift` ns after copy 0. */
function render(s, i, shift, gcStride) {
  switch (s.t) {
    case 'dec': {
      const t = s.ns + shift;
      const frac = (t % NS).toString().padStart(9, '0').slice(0, s.digits);
      return s.digits ? `${t / NS}.${frac}` : `${t / NS}`;
    }
    case 'int':
      return ((s.v * s.unit + shift) / s.unit).toString();
    case 'iso': {
      const local = s.ns + shift + BigInt(s.offsetMin) * 60n * NS;
      const text = new Date(Number(local / 1_000_000n)).toISOString().slice(0, 19).replace('T', s.sep);
      return s.digits ? `${text}.${(local % NS).toString().padStart(9, '0').slice(0, s.digits)}` : text;
    }
    case 'id':
      return (
        ((Number.parseInt(s.hex.slice(0, 8), 16) ^ i) >>> 0).toString(16).padStart(8, '0') + s.hex.slice(8)
      );
    case 'gcid':
      return String(s.n + i * gcStride);
    default:
      throw new Error(`unknown slot ${s.t}`);
  }
}

/** The trace id of copy `i` of a fixture trace id. */
export const copyTraceId = (traceId, i) => render({ t: 'id', hex: traceId }, i, 0n, 0);

const readText = (p) => (p.endsWith('.gz') ? gunzipSync(readFileSync(p)) : readFileSync(p)).toString('utf8');

/** Splits one file into static text and time/id slots; `records` are its events (for the COPY baseline). */
function template(name, text, ids) {
  const kind = Object.keys(KINDS).find((k) => KINDS[k].sniff.test(text.slice(0, 4096)));
  if (!kind) return { name, kind: 'static', text };
  if (!text.endsWith('\n')) text += '\n';
  const found = [];
  for (const rule of KINDS[kind].rules)
    for (const m of text.matchAll(rule.re)) {
      const slot = rule.slot(m, ids);
      if (!slot) continue;
      const [start, end] = m.indices.groups.v;
      const rec = rule.record?.(m);
      found.push({ start, end, slot, rec });
    }
  found.sort((a, b) => a.start - b.start);
  const parts = [];
  const slots = [];
  const records = [];
  let at = 0;
  let min = null;
  let max = null;
  let gcMax = -1;
  for (const f of found) {
    if (f.start < at) continue;
    parts.push(text.slice(at, f.start));
    slots.push(f.slot);
    at = f.end;
    const ns =
      f.slot.t === 'dec' || f.slot.t === 'iso'
        ? f.slot.ns
        : f.slot.t === 'int'
          ? f.slot.v * f.slot.unit
          : null;
    if (ns !== null) {
      if (min === null || ns < min) min = ns;
      if (max === null || ns > max) max = ns;
      if (f.rec) records.push({ ...f.rec, ns });
    }
    if (f.slot.t === 'gcid') gcMax = Math.max(gcMax, f.slot.n);
  }
  parts.push(text.slice(at));
  return { name, kind, parts, slots, records, min, max, gcStride: gcMax + 1, bytes: text.length };
}

/**
 * The fixture in `dir` as templates, and the period between copies: its span on the epoch
 * axis (each timed file placed by its true offset in clocks.json) rounded up to whole seconds,
 * plus a second.
 */
export function loadFixture(dir) {
  const names = readdirSync(dir)
    .filter((f) => statSync(path.join(dir, f)).isFile() && !NOT_UPLOADED.some((re) => re.test(f)))
    .sort();
  const texts = names.map((n) => ({ name: n.replace(/\.gz$/, ''), text: readText(path.join(dir, n)) }));
  const ids = new Set();
  for (const { text } of texts) for (const m of text.matchAll(ID_FIELD)) ids.add(m[1]);
  const files = texts.map(({ name, text }) => template(name, text, ids));
  const clocks = JSON.parse(readFileSync(path.join(dir, 'clocks.json'), 'utf8')).files ?? {};
  let from = null;
  let to = null;
  for (const f of files) {
    if (f.kind === 'static' || f.min === null) continue;
    const offset = clocks[f.name]?.truthOffsetNs;
    if (offset == null) throw new Error(`${dir}/clocks.json: no truthOffsetNs for ${f.name}`);
    const a = f.min + BigInt(offset);
    const b = f.max + BigInt(offset);
    if (from === null || a < from) from = a;
    if (to === null || b > to) to = b;
  }
  const periodNs = ((to - from + NS - 1n) / NS + 2n) * NS;
  return { dir, files, periodNs, spanNs: to - from, ids: ids.size };
}

/** Whole ms of jitter of copy `i` (0 for copy 0): a fixed integer hash of i, 0–999. */
function jitterMs(i) {
  let h = Math.imul(i ^ (i >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return i === 0 ? 0 : ((h ^ (h >>> 16)) >>> 0) % 1000;
}

/** How much later than copy 0 copy `i` is, in ns. */
export const copyShiftNs = (fixture, i) => BigInt(i) * fixture.periodNs + BigInt(jitterMs(i)) * 1_000_000n;

/** Copy `i` of a templated file. */
function renderCopy(f, i, fixture) {
  const shift = copyShiftNs(fixture, i);
  const out = new Array(f.parts.length + f.slots.length);
  for (let k = 0; k < f.slots.length; k++) {
    out[2 * k] = f.parts[k];
    out[2 * k + 1] = render(f.slots[k], i, shift, f.gcStride);
  }
  out[out.length - 1] = f.parts[f.parts.length - 1];
  return out.join('');
}

/**
 * Writes `copies` copies of the fixture into `outDir` (gzip level 1 unless `gzip` is false;
 * files without times once, as they are): the files to upload, `{ name, path, bytes, textBytes }`.
 * Uncompressed, a large perf script is parsed in byte ranges by parallel jobs; gzip'd, whole.
 */
export async function writeGrownCapture(fixture, outDir, copies, { gzip = true } = {}) {
  return Promise.all(
    fixture.files.map(async (f) => {
      if (f.kind === 'static') {
        const p = path.join(outDir, f.name);
        copyFileSync(path.join(fixture.dir, f.name), p);
        return { name: f.name, path: p, bytes: statSync(p).size, textBytes: f.text.length, kind: f.kind };
      }
      const name = gzip ? `${f.name}.gz` : f.name;
      const p = path.join(outDir, name);
      let textBytes = 0;
      async function* text() {
        for (let i = 0; i < copies; i++) {
          const s = renderCopy(f, i, fixture);
          textBytes += Buffer.byteLength(s);
          yield s;
        }
      }
      if (gzip) await pipeline(Readable.from(text()), createGzip({ level: 1 }), createWriteStream(p));
      else await pipeline(Readable.from(text()), createWriteStream(p));
      return { name, path: p, bytes: statSync(p).size, textBytes, kind: f.kind };
    }),
  );
}

/**
 * The grown capture's events as rows `capture_id, thread, time_ns, kind, a, b` (COPY text
 * format), one chunk per copy: perf records, strace lines, log lines, spans, GC events, in
 * each file's own clock shifted like the files. `a` is the event's ordinal in its copy, `b`
 * the copy.
 */
export async function* eventRows(fixture, copies, captureId) {
  const kinds = new Map();
  const rows = [];
  for (const f of fixture.files)
    for (const r of f.records ?? []) {
      if (!kinds.has(r.kind)) kinds.set(r.kind, kinds.size);
      rows.push({
        head: `${captureId}\t${r.tid}\t`,
        ns: r.ns,
        tail: `\t${kinds.get(r.kind)}\t${rows.length}\t`,
      });
    }
  for (let i = 0; i < copies; i++) {
    const shift = copyShiftNs(fixture, i);
    const out = new Array(rows.length);
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k];
      out[k] = `${r.head}${r.ns + shift}${r.tail}${i}\n`;
    }
    yield out.join('');
  }
}

/** Events per copy as the COPY baseline counts them. */
export const recordsPerCopy = (fixture) => fixture.files.reduce((n, f) => n + (f.records?.length ?? 0), 0);
