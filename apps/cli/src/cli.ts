import { parseArgs, USAGE } from './args.js';
import { HttpError, UnreachableError } from './client.js';
import { runDemo } from './demo.js';
import { ExitCode, UsageError } from './errors.js';
import type { Io } from './io.js';
import { packageVersion } from './paths.js';
import type { RecordExit } from './record/exit-codes.js';
import { runRecord } from './record/record.js';
import { runUpload } from './upload.js';

/** Runs one CLI invocation and returns its exit code; never throws. */
export async function run(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: Io,
  signal?: AbortSignal,
): Promise<ExitCode | RecordExit> {
  if (argv.length === 0) {
    io.err(USAGE);
    return ExitCode.Usage;
  }
  try {
    const command = parseArgs(argv, env);
    switch (command.kind) {
      case 'help':
        io.out(USAGE);
        return ExitCode.Ok;
      case 'version':
        io.out(`threadreel ${packageVersion()}\n`);
        return ExitCode.Ok;
      case 'upload':
        return await runUpload(
          command.paths,
          {
            server: command.server,
            name: command.name,
            wait: command.wait,
            timeoutMs: command.timeoutMs,
            signal,
          },
          io,
        );
      case 'demo':
        return await runDemo({ server: command.server, timeoutMs: command.timeoutMs, signal }, io);
      case 'record':
        // record handles SIGINT/SIGTERM itself: the first stops the recording, the second aborts.
        return await runRecord(command.options, io, { env, signal });
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`threadreel: ${err.message}\nRun 'threadreel --help' for usage.\n`);
      return ExitCode.Usage;
    }
    if (err instanceof HttpError || err instanceof UnreachableError) {
      io.err(`threadreel: ${err.message}\n`);
      return ExitCode.Server;
    }
    io.err(
      `threadreel: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return ExitCode.Failed;
  }
}
