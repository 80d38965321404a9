/**
 * A TCP relay in front of the test's redis-server, so one bridge's link to Redis can be cut (a
 * network partition: its connections drop and new ones are refused) and healed, while the other
 * bridges keep theirs.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface Partition {
  /** redis://127.0.0.1:<relay port> */
  url: string;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startPartition(targetPort: number): Promise<Partition> {
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  const cut = (): void => {
    open = false;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    cut,
    heal() {
      open = true;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
