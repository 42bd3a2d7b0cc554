#!/usr/bin/env bash
# Records the plain-tools captures under test/fixtures/plain/<runtime>/: a scenario service recorded with
# perf, strace and a /proc thread listing by hand, as a user would, with NO manifest (see
# `node scripts/scenario.mjs <runtime> --plain`), its own logs, spans and GC files, the caller's client spans
# (loadgen.otlp.jsonl), clocks.json (the true clock offsets; not to be uploaded) and ground-truth.json (per
# request the cause its service measured).
# Never edit the results by hand: re-run this script.
#
# Usage (as root):
#   bash scripts/record-plain-fixtures.sh [python|node|java ...]      the committed fixtures (default: all three)
#   bash scripts/record-plain-fixtures.sh --out DIR --seconds N [...]  longer captures into DIR/<runtime>, no size limit
#
# The recordings contain program paths, so the script re-runs itself in a private mount namespace with the
# checkout (and its node_modules, resolved) at /opt/threadreel, and /usr/bin first on PATH so no pyenv-style
# shim puts its own path into the target's command line (THREADREEL_NO_REMOUNT=1 skips this).
set -euo pipefail
cd "$(dirname "$0")/.."

# Built before the remount (dist/ becomes a mount point there, which the build cannot replace).
[ -n "${THREADREEL_PLAIN_BUILT:-}" ] || npm run build >/dev/null
export THREADREEL_PLAIN_BUILT=1
if [ "$(pwd)" != /opt/threadreel ] && [ -z "${THREADREEL_NO_REMOUNT:-}" ]; then
  # shellcheck disable=SC2016
  exec unshare -m --propagation private bash -c '
    set -euo pipefail
    src=$1; shift
    mount -t tmpfs none /opt
    mkdir /opt/threadreel
    for e in "$src"/* "$src"/.[!.]*; do
      [ -e "$e" ] || continue
      n=$(basename "$e"); [ "$n" = .git ] && continue
      if [ -d "$e" ]; then mkdir "/opt/threadreel/$n"; else touch "/opt/threadreel/$n"; fi
      mount --bind "$(realpath "$e")" "/opt/threadreel/$n"
    done
    cd /opt/threadreel
    exec bash scripts/record-plain-fixtures.sh "$@"' bash "$(pwd)" "$@"
fi
export PATH="/usr/bin:$PATH"

OUT_ROOT=test/fixtures/plain
SECONDS_OF_LOAD=""
LIMIT=$((1024 * 1024))
runtimes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT_ROOT=$2; LIMIT=""; shift 2 ;;
    --seconds) SECONDS_OF_LOAD=$2; shift 2 ;;
    *) runtimes+=("$1"); shift ;;
  esac
done
[ ${#runtimes[@]} -gt 0 ] || runtimes=(python node java)

for r in "${runtimes[@]}"; do
  out="$OUT_ROOT/$r"
  rm -rf "$out"
  # Sizes that fit 1 MiB per file gzipped: perf (every sched event, call chains) and strace grow with the
  # syscalls of the load; node's /file and /pbkdf2 make many, one round is ~7 s recorded. java: one round of
  # 26 requests, its short form (under 3 s: /alloc with half the rows; the JVM's threads switch at every
  # futex under strace).
  case "$r" in
    node) s=${SECONDS_OF_LOAD:-7} ;;
    java) s=${SECONDS_OF_LOAD:-2} ;;
    *) s=${SECONDS_OF_LOAD:-4} ;;
  esac
  cmd="node scripts/scenario.mjs $r --plain --seconds $s --out $out"
  echo "== $cmd"
  $cmd
  # The big files gzipped (-9, -n: no name or time stamp), as a user would before uploading.
  for f in "$out"/*; do
    case "$f" in */ground-truth.json | */clocks.json) continue ;; esac
    size=$(stat -c %s "$f")
    case "$f" in
      */perf.script.txt | */strace.txt) gzip -9n "$f" ;;
      *) if [ "$size" -gt 262144 ]; then gzip -9n "$f"; fi ;;
    esac
  done
  if [ -n "$LIMIT" ]; then
    while IFS= read -r f; do
      size=$(stat -c %s "$f")
      if [ "$size" -gt "$LIMIT" ]; then echo "fixture file over 1 MiB: $f ($size bytes)" >&2; exit 1; fi
    done < <(find "$out" -type f)
  fi
  counts=$(node -e '
    const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const by = {};
    for (const q of t.requests) by[q.cause ?? "unmeasured"] = (by[q.cause ?? "unmeasured"] ?? 0) + 1;
    console.log(`${t.requests.length} requests; measured causes: ${Object.entries(by).map(([c, n]) => `${c} ${n}`).join(", ")}`);
  ' "$out/ground-truth.json")
  commands=$(node -e '
    const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).commands;
    console.log([c.perf.replace("; ", "\n"), c.strace, c.threads].map((l) => l.split("\n").map((x) => "    " + x).join("\n")).join("\n"));
  ' "$out/clocks.json")
  service=$(node -e 'console.log("    " + JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).commands.service)' "$out/clocks.json")
  gcfile=$(node -e '
    const f = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).files;
    const g = Object.keys(f).find((n) => /gc/.test(n) && f[n].clock && !/CLOCK_REALTIME/.test(f[n].clock));
    console.log(g ? `\`${g}\` (${f[g].clock}): ${f[g].how}.` : "Every GC time is epoch as recorded.");
  ' "$out/clocks.json")
  case "$r" in
    python) runtime="$(python3 --version 2>&1) ($(command -v python3))" ;;
    node) runtime="Node.js $(node --version)" ;;
    java) runtime="$(java -version 2>&1 | head -1)" ;;
    *) runtime="" ;;
  esac
  files=$(cd "$out" && for f in *; do printf -- '- `%s` (%s bytes)\n' "$f" "$(stat -c %s "$f")"; done)
  cat > "$out/README.md" <<MD
# Plain-tools capture: $r

Recorded on $(date -u +%Y-%m-%dT%H:%M:%SZ) (kernel $(uname -r), $(nproc) CPUs shared with other work; $(perf --version),
$(strace -V | head -1), $runtime) by

    bash scripts/record-plain-fixtures.sh $r

which ran \`$cmd\`: it starts test/scenarios/$r (its README says what the service does), as

$service

(\`<workDir>\`: the run's scratch folder), records it WITHOUT \`threadreel record\` and writes no manifest,
sends ${s} s of load with W3C traceparent headers, then stops the tools and the service:

$commands

(PID is the service's process; perf.data is not kept). Then \`gzip -9n\` on perf.script.txt, strace.txt
and any other file over 256 KiB. The service's own files are copied as it wrote them (logs, spans, GC).
The caller's client spans are included, as a trace backend export would have them: \`loadgen.otlp.jsonl\`
holds the load generator's CLIENT span of every request (OTLP/JSON, the parent of the service's SERVER span
through traceparent, with the send and answer times): for a request that waits before the service reads it
(in the listen backlog while a Node event loop is held), the only record of when it was sent.

Upload every file except \`clocks.json\`, \`ground-truth.json\` and this README. \`clocks.json\` holds the
true clock offset of each file (\`files[name].truthOffsetNs\`: what to add to its timestamps to get epoch
ns, with \`toleranceNs\`) and how it was measured — for perf's default clock, two extra perf sessions on a
marker process, one with the default clock and one with \`-k mono\`. $gcfile \`ground-truth.json\` holds per request
its trace id, route, planted cause, and \`cause\` / \`acceptable\` / \`components\` (ms) from the service's own
measurement (\`measured.jsonl\`, contract in test/scenarios/scenario.d.ts; rule in \`causeRule\`).

$counts.

Files:

$files

Do not edit these files by hand; re-run the script.
MD
  echo "== $r: $counts"
done
