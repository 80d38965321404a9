/**
 * Tracks the requests a server is answering, so a graceful shutdown can let writes (an upload
 * half-way through, a MOVE) finish while reads, which any client simply retries, are cut at once.
 */
import type http from 'node:http';
import type { ServerResponse } from 'node:http';

export interface InFlight {
  /** Methods of the requests being answered now. */
  methods(): string[];
  /**
   * Cuts every request whose method `keep` rejects, then waits until the kept ones are done or
   * `graceMs` has passed. Resolves with how many kept requests were still running at the end.
   */
  drain(graceMs: number, keep: (method: string) => boolean): Promise<number>;
}

export function trackInFlight(server: http.Server): InFlight {
  const active = new Map<ServerResponse, string>();
  const waiters = new Set<() => void>();
  server.on('request', (req: http.IncomingMessage, res: ServerResponse) => {
    active.set(res, (req.method ?? '').toUpperCase());
    res.once('close', () => {
      active.delete(res);
      for (const wake of waiters) wake();
    });
  });
  const keptRunning = (keep: (method: string) => boolean) => [...active.values()].filter(keep).length;
  return {
    methods: () => [...active.values()],
    async drain(graceMs, keep) {
      for (const [res, method] of active) if (!keep(method)) res.destroy();
      if (keptRunning(keep) === 0) return 0;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const check = () => {
          if (keptRunning(keep) === 0) done();
        };
        const timer = setTimeout(done, graceMs);
        waiters.add(check);
      });
      return keptRunning(keep);
    },
  };
}
