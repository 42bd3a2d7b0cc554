/** Entry point of the `threadreel` command (bin/threadreel.js imports the compiled file). */
import { run } from './cli.js';
import { processIo } from './io.js';

const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort());

process.exitCode = await run(process.argv.slice(2), process.env, processIo(), interrupt.signal);
