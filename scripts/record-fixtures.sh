#!/usr/bin/env bash
# Records the scenario fixtures under test/fixtures/captures/<scenario>/ with the real
# tools (perf, strace, JFR…) through `npm run scenario`. Never edit the results by hand:
# re-run this script. Fails when a file is over 1 MiB or a bundle over 1 MiB compressed.
# Usage: bash scripts/record-fixtures.sh [java|node|python ...]   (as root; default: all three)
# Run it from a checkout at a neutral path (the committed fixtures were recorded with the
# repo bind-mounted at /opt/threadreel, and /usr/bin first on PATH so no pyenv-style shim
# puts its own path in the target's cmdline): the recordings contain the program paths.
set -euo pipefail
cd "$(dirname "$0")/.."
PERF_FREQ=${PERF_FREQ:-49}
LIMIT=$((1024 * 1024))
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(java node python)

npm run build >/dev/null
for s in "${scenarios[@]}"; do
  out="test/fixtures/captures/$s"
  rm -rf "$out"
  # Sizes that fit 1 MiB compressed. Sched events dominate (strace stops add a switch per
  # syscall); the JVM's JFR sampling and jcmd safepoints double them, so the java fixture
  # is recorded without record --jfr (covered by test/record.test.ts and the live scenario
  # test; the service still runs its own JFR recording).
  case "$s" in
    java) SECONDS_OF_LOAD=3 MAX_STACK=16 extra="--no-jfr" ;;
    node) SECONDS_OF_LOAD=2 MAX_STACK=12 extra="" ;;
    *) SECONDS_OF_LOAD=3 MAX_STACK=16 extra="" ;;
  esac
  cmd="node scripts/scenario.mjs $s --seconds $SECONDS_OF_LOAD --perf-freq $PERF_FREQ --max-stack $MAX_STACK $extra --out $out"
  echo "== $cmd"
  $cmd
  while IFS= read -r f; do
    size=$(stat -c %s "$f")
    if [ "$size" -gt "$LIMIT" ]; then echo "fixture file over 1 MiB: $f ($size bytes)" >&2; exit 1; fi
  done < <(find "$out" -type f)
  packed=$(tar cf - -C "$(dirname "$out")" "$s" | gzip -9 | wc -c)
  if [ "$packed" -gt "$LIMIT" ]; then echo "fixture $s is $packed bytes compressed (limit 1 MiB)" >&2; exit 1; fi
  cat > "$out/README.md" <<MD
# Scenario fixture: $s

Recorded on $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname) (kernel $(uname -r)) by

    bash scripts/record-fixtures.sh $s

which ran

    $cmd

(\`npm run scenario\` starts test/scenarios/$s, records it with \`threadreel record\` — perf
cpu-clock at ${PERF_FREQ} Hz with sched_switch/sched_wakeup (call chains cut to ${MAX_STACK} frames, leaf first), strace, the thread map, logs,
spans, the GC log$( [ "$s" = java ] && echo " and jstack (no JFR: see the script)" ) — while it sends ${SECONDS_OF_LOAD} s of load with W3C traceparent
headers, and writes ground-truth.json: per request its trace id, route, client start/end
in epoch ns and the planted cause). Compressed size of this bundle: $packed bytes.
Do not edit these files by hand; re-run the script.
MD
  echo "== $s: $(find "$out" -type f | wc -l) files, $packed bytes compressed"
done
