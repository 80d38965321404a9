/**
 * Runs a cleanup once on SIGINT/SIGTERM, then exits 0 (1 if the cleanup failed). A second signal
 * exits at once, for the impatient.
 */
export function onShutdown(cleanup: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`fichier-dav: ${signal} received, shutting down\n`);
    cleanup().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`fichier-dav: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
