// Parses one file with the built parsers in a fresh process and prints, as JSON, the
// records it yielded and the process's peak RSS: memory is measured without the test
// runner's own heap. Usage: node test/support/parse-rss.mjs perf|strace FILE
import { createReadStream, statSync } from 'node:fs';
import { parsePerfScript, parseStrace, readLineBatches } from '../../dist/libs/parsers/src/index.js';

const [format, file] = process.argv.slice(2);
if (!file || (format !== 'perf' && format !== 'strace')) {
  console.error('usage: parse-rss.mjs perf|strace FILE');
  process.exit(2);
}
const started = performance.now();
const batches = readLineBatches(createReadStream(file));
let records = 0;
let issues = 0;
for await (const item of format === 'perf' ? parsePerfScript(batches) : parseStrace(batches)) {
  if (item.kind === 'issue') issues++;
  else if (item.kind !== 'header') records++;
}
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    records,
    issues,
    bytes: statSync(file).size,
    seconds,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  }),
);
