/**
 * Runs a cleanup once on SIGINT/SIGTERM, then exits 0 (1 if the cleanup failed). The cleanup is
 * the graceful part (stop accepting, let uploads finish, persist state); should it hang anyway, the
 * process exits 1 some seconds after the grace period. A second signal exits at once, for the
 * impatient.
 */
export interface ShutdownOptions {
  /** The grace period the cleanup was given (ms), announced and used for the hard limit. */
  graceMs?: number;
  /** Extra time after the grace period before giving up on the cleanup. Default 15 000 ms. */
  marginMs?: number;
}

export function onShutdown(cleanup: () => Promise<void>, options: ShutdownOptions = {}): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    const grace = options.graceMs ?? 0;
    process.stderr.write(
      `fichier-dav: ${signal} received, shutting down${grace > 0 ? ` (in-flight uploads get up to ${Math.round(grace / 1000)} s)` : ''}\n`,
    );
    const hardStop = setTimeout(() => {
      process.stderr.write('fichier-dav: shutdown is taking too long; exiting\n');
      process.exit(1);
    }, grace + (options.marginMs ?? 15_000));
    hardStop.unref();
    cleanup().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`fichier-dav: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
