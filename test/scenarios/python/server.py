#!/usr/bin/env python3
"""threadreel scenario service (CPython, stdlib only) with planted, known causes of latency.

Threads (OS thread names are set with prctl so perf/sched/strace show them too):
  MainThread     waits for SIGTERM/SIGINT (sigwait) and runs the graceful shutdown
  acceptor       accepts connections, reads the request head, queues it on the pool
  worker_0..2    ThreadPoolExecutor(max_workers=3): run the handlers
  span-exporter  every 200 ms appends finished spans (OTLP/JSON) and GC events to their files

Routes (one request per connection, `Connection: close`):
  /lock?work=100       threading.Lock held for `work` ms of pure-Python CPU work -> lock for
                       the requests that wait for it (cpu for the one holding it)
  /file                write 2 MiB to WORK_DIR, os.fsync after each 64 KiB record -> file
  /upstream?ms=150     urllib GET UPSTREAM_URL/slow?ms=150                      -> net
  /cpu                 ~100 ms of pure-Python CPU work (holds the GIL)          -> cpu
  /alloc               many reference cycles, so the cyclic GC runs (gen 0/1/2) -> gc
  /fast                trivial; waits for a worker when the pool is busy        -> pool-queue
  /health              answered by the acceptor itself (no span, no log)

Environment: PORT (8080), HOST (127.0.0.1), UPSTREAM_URL, WORK_DIR (cwd), CPU_MS (100),
FILE_MB (2), FSYNC_EVERY_KB (64; 0 = one fsync at the end), ALLOC_CYCLES (150000),
SWITCH_INTERVAL_MS (unset = CPython's 5 ms; scenario.mjs sets 1).
Files in WORK_DIR: app.log, spans.otlp.jsonl, gc.jsonl, and measured.jsonl: per finished request what
the service measured around its real operations (the contract in test/scenarios/scenario.d.ts).
"""

import concurrent.futures
import contextvars
import ctypes
import ctypes.util
import gc
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import deque

HOST = os.environ.get('HOST', '127.0.0.1')
PORT = int(os.environ.get('PORT', '8080'))
UPSTREAM_URL = os.environ.get('UPSTREAM_URL', 'http://127.0.0.1:9').rstrip('/')
WORK_DIR = os.path.abspath(os.environ.get('WORK_DIR', '.'))
CPU_MS = float(os.environ.get('CPU_MS', '100'))
FILE_MB = float(os.environ.get('FILE_MB', '2'))
FSYNC_EVERY_KB = int(os.environ.get('FSYNC_EVERY_KB', '64'))
ALLOC_CYCLES = int(os.environ.get('ALLOC_CYCLES', '150000'))
POOL_SIZE = 3
SERVICE_NAME = 'scenario-python'

LOG_FILE = os.path.join(WORK_DIR, 'app.log')
SPANS_FILE = os.path.join(WORK_DIR, 'spans.otlp.jsonl')
GC_FILE = os.path.join(WORK_DIR, 'gc.jsonl')
MEASURED_FILE = os.path.join(WORK_DIR, 'measured.jsonl')

# ---------------------------------------------------------------------------------------------
# OS thread names: CPython 3.11 does not set them, so /proc/<pid>/task/<tid>/comm would all be
# "python3". prctl(PR_SET_NAME) names the calling thread (15 bytes max). Best effort.

try:
    _libc = ctypes.CDLL(ctypes.util.find_library('c') or None, use_errno=True)
except OSError:  # pragma: no cover
    _libc = None


def set_os_thread_name(name):
    if _libc is None or not sys.platform.startswith('linux'):
        return
    try:
        _libc.prctl(15, name.encode('ascii', 'replace')[:15], 0, 0, 0)  # PR_SET_NAME
    except (AttributeError, OSError):  # pragma: no cover
        pass


def native_tid():
    """The kernel tid of the calling thread. threading.get_native_id() is a gettid syscall per
    call (thousands per second from the GC callback and logging, each one a stop under strace);
    Thread.native_id is the same number, read once when the thread started."""
    return threading.current_thread().native_id


# ---------------------------------------------------------------------------------------------
# Request context, logging

_current_span = contextvars.ContextVar('current_span', default=None)


class ContextFilter(logging.Filter):
    """Adds native_tid, trace_id and span_id (of the span current on this thread) to records."""

    def filter(self, record):
        record.native_tid = native_tid()
        span = _current_span.get()
        record.trace_id = span.trace_id if span else '-'
        record.span_id = span.span_id if span else '-'
        return True


log = logging.getLogger('scenario')


def setup_logging():
    logging.logProcesses = False  # else a getpid syscall per record
    logging.logMultiprocessing = False
    handler = logging.FileHandler(LOG_FILE, mode='a', encoding='utf-8')
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        logging.Formatter(
            '%(asctime)s %(levelname)s [%(threadName)s tid=%(native_tid)d] '
            'trace_id=%(trace_id)s span_id=%(span_id)s %(message)s'
        )
    )
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


# ---------------------------------------------------------------------------------------------
# Spans (OTLP/JSON, one ExportTraceServiceRequest per line)

SPAN_KIND_SERVER = 2
SPAN_KIND_CLIENT = 3
TRACEPARENT_RE = re.compile(r'^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$')


def parse_traceparent(value):
    """(trace_id, parent_span_id) from a W3C traceparent header, or (None, None)."""
    m = TRACEPARENT_RE.match((value or '').strip().lower())
    if not m or m.group(1) == 'ff' or (m.group(1) == '00' and m.group(5)):
        return None, None
    trace_id, parent = m.group(2), m.group(3)
    if trace_id == '0' * 32 or parent == '0' * 16:
        return None, None
    return trace_id, parent


def _attr(key, value):
    if isinstance(value, bool):
        return {'key': key, 'value': {'boolValue': value}}
    if isinstance(value, int):
        # OTLP/JSON (proto3 JSON mapping): int64 as a decimal string.
        return {'key': key, 'value': {'intValue': str(value)}}
    if isinstance(value, float):
        return {'key': key, 'value': {'doubleValue': value}}
    return {'key': key, 'value': {'stringValue': str(value)}}


class Span:
    __slots__ = ('name', 'kind', 'trace_id', 'span_id', 'parent_id', 'start_ns', 'end_ns', 'attributes',
                 'events', 'error')

    def __init__(self, name, kind, trace_id, parent_id, start_ns=None):
        self.name = name
        self.kind = kind
        self.trace_id = trace_id or secrets.token_hex(16)
        self.span_id = secrets.token_hex(8)
        self.parent_id = parent_id or ''
        self.start_ns = start_ns if start_ns is not None else time.time_ns()
        self.end_ns = None
        self.attributes = {}
        self.events = []
        self.error = None

    def set_thread(self):
        self.attributes['thread.id'] = native_tid()
        self.attributes['thread.name'] = threading.current_thread().name

    def add_event(self, name, **attributes):
        self.events.append((time.time_ns(), name, attributes))

    def end(self):
        if self.end_ns is None:
            self.end_ns = time.time_ns()
        exporter.add(self)

    def to_otlp(self):
        span = {
            'traceId': self.trace_id,
            'spanId': self.span_id,
            'parentSpanId': self.parent_id,
            'name': self.name,
            'kind': self.kind,
            'startTimeUnixNano': str(self.start_ns),
            'endTimeUnixNano': str(self.end_ns),
            'attributes': [_attr(k, v) for k, v in self.attributes.items()],
            'status': {'code': 2, 'message': self.error} if self.error else {},
        }
        if self.events:
            span['events'] = [
                {'timeUnixNano': str(t), 'name': n, 'attributes': [_attr(k, v) for k, v in a.items()]}
                for t, n, a in self.events
            ]
        return span


class Exporter:
    """Batches finished spans and GC events; a background thread appends them every 200 ms."""

    def __init__(self):
        self.spans = deque()
        self.gc_lines = deque()
        self.measured_lines = deque()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name='span-exporter', daemon=True)
        self.spans_file = self.gc_file = self.measured_file = None
        self.resource = {
            'attributes': [
                _attr('service.name', SERVICE_NAME),
                _attr('process.pid', os.getpid()),
                _attr('process.runtime.name', sys.implementation.name),
                _attr('process.runtime.version', '.'.join(map(str, sys.version_info[:3]))),
                _attr('telemetry.sdk.language', 'python'),
            ]
        }

    def add(self, span):
        self.spans.append(span)  # deque.append is thread-safe

    def start(self):
        # Opened once (appending) and now, so the files exist before the service answers and a
        # flush is one write per file (no open/ioctl/lseek/close every 200 ms).
        self.spans_file = open(SPANS_FILE, 'a', encoding='utf-8')
        self.gc_file = open(GC_FILE, 'a', encoding='utf-8')
        self.measured_file = open(MEASURED_FILE, 'a', encoding='utf-8')
        self.thread.start()

    def _run(self):
        set_os_thread_name('span-exporter')
        while not self.stop_event.wait(0.2):
            self.flush()
        self.flush()

    def flush(self):
        batch = []
        while self.spans:
            batch.append(self.spans.popleft())
        if batch:
            request = {
                'resourceSpans': [
                    {
                        'resource': self.resource,
                        'scopeSpans': [
                            {
                                'scope': {'name': SERVICE_NAME, 'version': '1'},
                                'spans': [s.to_otlp() for s in batch],
                            }
                        ],
                    }
                ]
            }
            self.spans_file.write(json.dumps(request, separators=(',', ':')) + '\n')
            self.spans_file.flush()
        self._drain(self.gc_lines, self.gc_file)
        self._drain(self.measured_lines, self.measured_file)

    @staticmethod
    def _drain(lines, file):
        """Appends the queued lines to `file` in one write."""
        batch = []
        while lines:
            batch.append(lines.popleft())
        if batch:
            file.write(''.join(batch))
            file.flush()

    def stop(self):
        self.stop_event.set()
        self.thread.join(10)
        self.spans_file.close()
        self.gc_file.close()
        self.measured_file.close()


exporter = Exporter()

# ---------------------------------------------------------------------------------------------
# GC events: gc.callbacks run on the thread that triggered the collection, holding the GIL.

_gc_start = {'mono': 0, 'cpu': None}
# Every finished collection as (start, stop, tid, cpu) in CLOCK_MONOTONIC ns, for measured.jsonl; cpu is
# the thread CPU time it took, read (a clock_gettime syscall each side) for generations 1 and 2 only: a
# gen-0 collection takes ~40 us and counts its wall time. Appended by the callback (holding the GIL),
# copied with list() (C code, never interrupted), pruned by the workers.
_gc_intervals = deque()


def gc_callback(phase, info):
    deep = (info.get('generation') or 0) >= 1
    cpu_start = time.thread_time_ns() if deep and phase == 'start' else None
    mono = time.monotonic_ns()
    epoch = time.time_ns()
    event = {
        'phase': phase,
        'generation': info.get('generation'),
        'epochNs': epoch,
        'monotonicNs': mono,
        'tid': native_tid(),
        'thread': threading.current_thread().name,
        'collected': info.get('collected'),
        'uncollectable': info.get('uncollectable'),
    }
    if phase == 'start':
        _gc_start['mono'] = mono
        _gc_start['cpu'] = cpu_start
    elif _gc_start['mono']:
        event['durationNs'] = mono - _gc_start['mono']
        cpu = mono - _gc_start['mono']
        if deep and _gc_start['cpu'] is not None:
            cpu = time.thread_time_ns() - _gc_start['cpu']
        _gc_intervals.append((_gc_start['mono'], mono, event['tid'], cpu))
    exporter.gc_lines.append(json.dumps(event, separators=(',', ':')) + '\n')


# ---------------------------------------------------------------------------------------------
# Internal measurement: one line of measured.jsonl per finished request (test/scenarios/scenario.d.ts),
# each component timed around the real operation on CLOCK_MONOTONIC:
#   pool-queue  the part of [accepted, handler start] during which every pool worker ran a handler
#   lock        blocked in _shared_lock.acquire() (including taking the GIL back afterwards)
#   net         the upstream call;  file: open + writes + fsyncs + close
#   gc          collections on the request's own thread during the handler, plus collections on other
#               threads (holding the GIL) while this request was neither queued for a busy pool nor
#               blocked in lock/net/file, from the load generator's send stamp (else accepted) to the end
#   cpu         thread CPU time of the handler (time.thread_time_ns) minus the CPU time of its own collections

_KEEP_NS = 30 * 1_000_000_000  # intervals older than this are dropped (a request lasts well under that)
_all_busy = deque()  # [start, end or None] (monotonic ns) while every pool worker ran a handler; under stats.lock
_current_measure = contextvars.ContextVar('current_measure', default=None)


class Measure:
    __slots__ = ('waits', 'blocked')

    def __init__(self):
        self.waits = {'lock': 0, 'net': 0, 'file': 0}
        self.blocked = []  # (start, end) monotonic ns of the lock, net and file waits


def measure_wait(kind, start_mono, end_mono):
    """Charges [start, end] (monotonic ns) of the current request to lock, net or file."""
    m = _current_measure.get()
    if m is not None:
        m.waits[kind] += end_mono - start_mono
        m.blocked.append((start_mono, end_mono))


def _overlap(intervals, a, b):
    total = 0
    for s, e in intervals:
        lo = s if s > a else a
        hi = e if e < b else b
        if hi > lo:
            total += hi - lo
    return total


def measured_line(req, span, meas, started_mono, started_ns, end_mono, cpu_ns, tid):
    with stats.lock:
        busy = [(s, e if e is not None else end_mono) for s, e in _all_busy]
        while len(_all_busy) > 1 and _all_busy[0][1] is not None and _all_busy[0][1] < end_mono - _KEEP_NS:
            _all_busy.popleft()
    while _gc_intervals and _gc_intervals[0][1] < end_mono - _KEEP_NS:
        _gc_intervals.popleft()
    gcs = list(_gc_intervals)
    queued = [(max(s, req.accepted_mono), min(e, started_mono)) for s, e in busy
              if e > req.accepted_mono and s < started_mono]
    pool_queue = sum(e - s for s, e in queued)
    waited_from = req.accepted_mono
    if req.sent_ns is not None and req.sent_ns < req.accepted_ns:
        waited_from = req.accepted_mono - (req.accepted_ns - req.sent_ns)
    own = [g for g in gcs if g[2] == tid and g[1] > started_mono and g[0] < end_mono]
    own_gc = _overlap([(s, e) for s, e, _, _ in own], started_mono, end_mono)
    own_gc_cpu = sum(c for _, _, _, c in own)
    other = [(s, e) for s, e, t, _ in gcs if t != tid]
    other_gc = _overlap(other, waited_from, end_mono)
    for s, e in queued + meas.blocked:
        other_gc -= _overlap(other, s, e)
    line = {
        'traceId': span.trace_id,
        'spanId': span.span_id,
        'route': req.path,
        'tid': tid,
        'thread': threading.current_thread().name,
        'arrivalNs': str(req.accepted_ns),
        'handlerStartNs': str(started_ns),
        'handlerEndNs': str(span.end_ns),
        'components': {
            'pool-queue': str(pool_queue),
            'lock': str(meas.waits['lock']),
            'gc': str(own_gc + max(0, other_gc)),
            'net': str(meas.waits['net']),
            'file': str(meas.waits['file']),
            'cpu': str(max(0, cpu_ns - own_gc_cpu)),
        },
    }
    if req.sent_ns is not None:
        line['sentNs'] = str(req.sent_ns)
    return json.dumps(line, separators=(',', ':')) + '\n'


# ---------------------------------------------------------------------------------------------
# Planted work


def _spin(n):
    x = 0
    for i in range(n):
        x += i * i % 7
    return x


_ITER_PER_MS = [25000]


def calibrate_cpu():
    """Iterations of _spin per millisecond of CPU (best of 5 runs after a warm-up)."""
    _spin(200000)  # let 3.11's adaptive interpreter specialise the loop first
    best = None
    for _ in range(5):
        t0 = time.thread_time_ns()
        _spin(100000)
        dt = time.thread_time_ns() - t0
        best = dt if best is None else min(best, dt)
    _ITER_PER_MS[0] = max(1000, int(100000 * 1_000_000 / max(best, 1)))
    return _ITER_PER_MS[0]


def burn_cpu(ms):
    """Pure-Python work until this thread has used `ms` of CPU (thread CPU clock, checked
    every ~5 ms of work). Holds the GIL except at the interpreter's 5 ms switch interval."""
    chunk = max(1, _ITER_PER_MS[0] * 5)
    end = time.thread_time_ns() + int(ms * 1_000_000)
    x = 0
    while time.thread_time_ns() < end:
        x += _spin(chunk)
    return x


_shared_lock = threading.Lock()


def route_lock(span, query):
    """Takes the one shared lock and does `work` ms (default CPU_MS) of CPU work inside it.
    Waiters block in the lock (a futex), not on the GIL: the holder keeps the GIL to itself."""
    work_ms = float(query.get('work', [str(CPU_MS)])[0])
    t0 = time.monotonic_ns()
    with _shared_lock:
        t1 = time.monotonic_ns()
        measure_wait('lock', t0, t1)
        waited_ms = (t1 - t0) / 1e6
        span.add_event('lock.acquired', **{'lock.wait_ms': round(waited_ms, 3)})
        log.info('lock acquired after %.1f ms, working %.0f ms inside it', waited_ms, work_ms)
        burn_cpu(work_ms)
    span.attributes['lock.wait_ms'] = round(waited_ms, 3)
    return {'lockWaitMs': round(waited_ms, 3), 'workMs': work_ms}


_FILE_CHUNK = (b'threadreel-scenario-python\n' * 2500)[:65536]  # 64 KiB


def route_file(span, query):
    """Appends 64 KiB records like a write-ahead log, fsync after every FSYNC_EVERY_KB (this
    disk acknowledges one fsync of 2 MiB in ~1-2 ms; 32 fsyncs make the wait clearly file)."""
    path = os.path.join(WORK_DIR, 'blob-%s.bin' % threading.current_thread().name)
    total = int(FILE_MB * 1024 * 1024)
    every = FSYNC_EVERY_KB * 1024
    written = since_sync = fsyncs = 0
    fsync_ns = 0
    started = time.monotonic_ns()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while written < total:
            n = os.write(fd, _FILE_CHUNK[: total - written])
            written += n
            since_sync += n
            if (every and since_sync >= every) or written >= total:
                t0 = time.monotonic_ns()
                os.fsync(fd)
                fsync_ns += time.monotonic_ns() - t0
                fsyncs += 1
                since_sync = 0
    finally:
        os.close(fd)
        measure_wait('file', started, time.monotonic_ns())
    fsync_ms = fsync_ns / 1e6
    span.attributes['file.path'] = path
    span.attributes['file.bytes'] = written
    span.attributes['file.fsyncs'] = fsyncs
    log.info('wrote %d bytes to %s with %d fsyncs taking %.1f ms', written, os.path.basename(path), fsyncs, fsync_ms)
    return {'bytes': written, 'fsyncs': fsyncs, 'fsyncMs': round(fsync_ms, 3)}


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an env proxy


def route_upstream(span, query):
    ms = int(query.get('ms', ['150'])[0])
    url = '%s/slow?ms=%d' % (UPSTREAM_URL, ms)
    parsed = urllib.parse.urlsplit(url)
    child = Span('GET /slow', SPAN_KIND_CLIENT, span.trace_id, span.span_id)
    child.set_thread()
    child.attributes.update({
        'http.method': 'GET',
        'http.request.method': 'GET',
        'url.full': url,
        'server.address': parsed.hostname or '',
        'server.port': parsed.port or 80,
    })
    token = _current_span.set(child)
    try:
        log.info('calling upstream %s', url)
        req = urllib.request.Request(url, headers={'traceparent': '00-%s-%s-01' % (child.trace_id, child.span_id)})
        started = time.monotonic_ns()
        try:
            with _opener.open(req, timeout=30) as res:
                body = res.read()
                child.attributes['http.status_code'] = res.status
                child.attributes['http.response.status_code'] = res.status
        finally:
            measure_wait('net', started, time.monotonic_ns())
        log.info('upstream answered %d bytes', len(body))
    except Exception as e:
        child.error = repr(e)
        raise
    finally:
        _current_span.reset(token)
        child.end()
    return {'upstream': url, 'bytes': len(body)}


def route_cpu(span, query):
    t0 = time.thread_time_ns()
    burn_cpu(CPU_MS)
    cpu_ms = (time.thread_time_ns() - t0) / 1e6
    log.info('cpu work done: %.1f ms on cpu', cpu_ms)
    return {'cpuMs': round(cpu_ms, 3)}


def route_alloc(span, query):
    """Builds reference cycles (dict <-> list) and keeps a sliding window of them alive, so
    gen-0 collections promote survivors, gen-1 runs every 10 gen-0 and the growing number of
    long-lived objects makes a full gen-2 collection due. All of it is cyclic garbage later."""
    counts = {0: 0, 1: 0, 2: 0}
    before = [s['collections'] for s in gc.get_stats()]
    window = deque()
    for i in range(ALLOC_CYCLES):
        node = {'i': i, 'payload': [i, i + 1]}
        ref = [node]
        node['back'] = ref  # cycle: only the cyclic GC can free it
        window.append(ref)
        if len(window) > 60000:
            window.popleft()
    window.clear()
    after = [s['collections'] for s in gc.get_stats()]
    for g in range(3):
        counts[g] = after[g] - before[g]
    span.attributes['gc.collections'] = sum(counts.values())
    log.info('allocated %d cycles; gc collections gen0=%d gen1=%d gen2=%d', ALLOC_CYCLES, counts[0], counts[1],
             counts[2])
    return {'cycles': ALLOC_CYCLES, 'collections': counts}


def route_fast(span, query):
    return {'ok': True}


ROUTES = {
    '/lock': route_lock,
    '/file': route_file,
    '/upstream': route_upstream,
    '/cpu': route_cpu,
    '/alloc': route_alloc,
    '/fast': route_fast,
}

# ---------------------------------------------------------------------------------------------
# HTTP (minimal HTTP/1.1, one request per connection)

REASONS = {200: 'OK', 400: 'Bad Request', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable'}


class Request:
    __slots__ = ('conn', 'method', 'target', 'path', 'query', 'headers', 'accepted_ns', 'accepted_mono', 'sent_ns',
                 'span')


def read_request(conn):
    """Reads the request head (and a Content-Length body) from a fresh connection."""
    conn.settimeout(10)
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 65536:
            return None
    head, _, rest = data.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    parts = lines[0].split(' ')
    if len(parts) != 3:
        return None
    req = Request()
    req.conn = conn
    req.method, req.target = parts[0], parts[1]
    req.headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(':')
        if sep:
            req.headers[name.strip().lower()] = value.strip()
    length = int(req.headers.get('content-length', '0') or 0)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    split = urllib.parse.urlsplit(req.target)
    req.path = split.path
    req.query = urllib.parse.parse_qs(split.query)
    return req


def send_response(conn, status, body, extra_headers=()):
    payload = (json.dumps(body) + '\n').encode('utf-8')
    head = ['HTTP/1.1 %d %s' % (status, REASONS.get(status, 'Status')),
            'Content-Type: application/json',
            'Content-Length: %d' % len(payload),
            'Connection: close']
    head.extend(extra_headers)
    conn.sendall(('\r\n'.join(head) + '\r\n\r\n').encode('latin-1') + payload)


def close_quietly(conn):
    try:
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    conn.close()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.queued = 0
        self.busy = 0


stats = Stats()


def handle(req):
    """Runs on a pool worker."""
    started_mono = time.monotonic_ns()
    started_ns = time.time_ns()
    cpu0 = time.thread_time_ns()
    tid = native_tid()
    span = req.span
    span.set_thread()
    queue_ms = (started_mono - req.accepted_mono) / 1e6
    span.attributes['pool.wait_ms'] = round(queue_ms, 3)
    span.add_event('worker.start', **{'thread.id': tid, 'pool.wait_ms': round(queue_ms, 3)})
    with stats.lock:
        stats.queued -= 1
        stats.busy += 1
        if stats.busy == POOL_SIZE:
            _all_busy.append([started_mono, None])
    meas = Measure()
    meas_token = _current_measure.set(meas)
    token = _current_span.set(span)
    status, body = 200, {}
    try:
        log.info('request start %s %s pool_wait_ms=%.1f', req.method, req.target, queue_ms)
        route = ROUTES.get(req.path)
        if route is None:
            status, body = 404, {'error': 'no route %s' % req.path}
            span.error = 'not found'
        else:
            body = route(span, req.query)
    except Exception as e:  # a failed planted cause must show up, not kill the worker
        log.exception('request failed')
        status, body = 500, {'error': repr(e)}
        span.error = repr(e)
    body.update({
        'route': req.path,
        'traceId': span.trace_id,
        'spanId': span.span_id,
        'thread': threading.current_thread().name,
        'tid': native_tid(),
        'poolWaitMs': round(queue_ms, 3),
        'handlerMs': round((time.monotonic_ns() - started_mono) / 1e6, 3),
    })
    span.attributes['http.status_code'] = status
    span.attributes['http.response.status_code'] = status
    # End the span as the response goes out: taken after sendall() the stamp would wait for the
    # GIL (up to the 5 ms switch interval) and could fall after the client already has the answer.
    span.end_ns = time.time_ns()
    end_mono = time.monotonic_ns()
    cpu_ns = time.thread_time_ns() - cpu0
    _current_measure.reset(meas_token)
    try:
        send_response(req.conn, status, body, ('traceresponse: 00-%s-%s-01' % (span.trace_id, span.span_id),))
    except OSError as e:
        log.warning('could not send the response: %s', e)
    finally:
        close_quietly(req.conn)
        total_ms = (time.monotonic_ns() - req.accepted_mono) / 1e6
        log.info('request end %s %s status=%d dur_ms=%.1f pool_wait_ms=%.1f', req.method, req.target, status,
                 total_ms, queue_ms)
        _current_span.reset(token)
        exporter.measured_lines.append(measured_line(req, span, meas, started_mono, started_ns, end_mono, cpu_ns, tid))
        with stats.lock:
            if stats.busy == POOL_SIZE and _all_busy and _all_busy[-1][1] is None:
                _all_busy[-1][1] = time.monotonic_ns()
            stats.busy -= 1
        span.end()


def acceptor_loop(listener, pool, stopping):
    set_os_thread_name('acceptor')
    while not stopping.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            if stopping.is_set():
                break
            continue
        accepted_ns = time.time_ns()
        accepted_mono = time.monotonic_ns()
        try:
            req = read_request(conn)
        except (OSError, ValueError):
            req = None
        if req is None:
            close_quietly(conn)
            continue
        if req.path == '/health':
            try:
                send_response(conn, 200, {'ok': True, 'pid': os.getpid()})
            except OSError:
                pass
            close_quietly(conn)
            continue
        conn.settimeout(None)
        req.accepted_ns, req.accepted_mono = accepted_ns, accepted_mono
        # The load generator's send stamp (epoch ns), for measured.jsonl only: not in spans or logs.
        sent = req.headers.get('x-scenario-sent-ns', '')
        req.sent_ns = int(sent) if sent.isdigit() else None
        trace_id, parent = parse_traceparent(req.headers.get('traceparent'))
        # The SERVER span starts when the request is accepted, so it covers the wait for a worker.
        span = Span('%s %s' % (req.method, req.path), SPAN_KIND_SERVER, trace_id, parent, accepted_ns)
        span.attributes.update({
            'http.method': req.method,
            'http.request.method': req.method,
            'http.route': req.path,
            'http.target': req.target,
            'url.path': req.path,
        })
        req.span = span
        with stats.lock:
            stats.queued += 1
            queued, busy = stats.queued, stats.busy
        token = _current_span.set(span)
        log.info('accepted %s %s queued=%d busy_workers=%d', req.method, req.target, queued, busy)
        _current_span.reset(token)
        try:
            pool.submit(handle, req)
        except RuntimeError:  # pool shut down
            send_response(conn, 503, {'error': 'shutting down'})
            close_quietly(conn)


def main():
    os.makedirs(WORK_DIR, exist_ok=True)
    # Only the main thread takes SIGTERM/SIGINT (sigwait); threads started later inherit the mask.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    setup_logging()
    if os.environ.get('SWITCH_INTERVAL_MS'):
        sys.setswitchinterval(float(os.environ['SWITCH_INTERVAL_MS']) / 1000)
    iters = calibrate_cpu()
    gc.callbacks.append(gc_callback)
    exporter.start()

    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=POOL_SIZE,
        thread_name_prefix='worker',
        initializer=lambda: set_os_thread_name(threading.current_thread().name),
    )
    # Start all workers now (the executor is lazy) so their tids exist before the load.
    barrier = threading.Barrier(POOL_SIZE)
    for f in [pool.submit(barrier.wait) for _ in range(POOL_SIZE)]:
        f.result()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, PORT))
    listener.listen(128)
    stopping = threading.Event()
    acceptor = threading.Thread(target=acceptor_loop, args=(listener, pool, stopping), name='acceptor')
    acceptor.start()
    threads = {t.name: t.native_id for t in threading.enumerate()}
    log.info('listening on http://%s:%d pid=%d python=%s cpu_iter_per_ms=%d switch_interval_ms=%g threads=%s', HOST,
             PORT, os.getpid(), sys.version.split()[0], iters, sys.getswitchinterval() * 1000,
             json.dumps(threads, sort_keys=True))
    print('listening on http://%s:%d pid=%d threads=%s' % (HOST, PORT, os.getpid(), json.dumps(threads)), flush=True)

    sig = signal.sigwait({signal.SIGTERM, signal.SIGINT})
    log.info('signal %d: stop accepting, drain workers, flush', sig)
    stopping.set()
    try:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
    except OSError:
        pass
    listener.close()
    acceptor.join(10)
    pool.shutdown(wait=True)
    for name in os.listdir(WORK_DIR):
        if name.startswith('blob-') and name.endswith('.bin'):
            try:
                os.unlink(os.path.join(WORK_DIR, name))
            except OSError:
                pass
    log.info('drained; flushing spans and gc events, bye')
    gc.callbacks.remove(gc_callback)
    exporter.stop()
    logging.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
