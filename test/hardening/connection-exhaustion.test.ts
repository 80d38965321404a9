/**
 * Connection exhaustion through the bridge over real HTTP, bounded in count and time: idle
 * connections that never send a byte, re-opened as soon as they are cut, cannot keep other
 * clients out, neither from one address nor spread over many.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHardStack, type HardStack } from './helpers.js';

const SLOTS = 1000;

let s: HardStack;

beforeAll(async () => {
  s = await startHardStack({}, { limits: { maxConnections: SLOTS } });
});

afterAll(async () => {
  await s?.close();
});

/**
 * Opens `count` idle connections from the given addresses and re-opens each one the server cuts,
 * up to `maxOpens` in all. `stop()` closes everything.
 */
function idleFlood(addresses: string[], count: number, maxOpens: number) {
  const sockets = new Set<net.Socket>();
  let opens = 0;
  let stopped = false;
  const open = (i: number) => {
    if (stopped || opens >= maxOpens) return;
    opens++;
    const socket = net.connect({ host: '127.0.0.1', port: s.port, localAddress: addresses[i % addresses.length] });
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      setTimeout(() => open(i), 10);
    });
  };
  for (let i = 0; i < count; i++) open(i);
  return {
    opens: () => opens,
    async settle(): Promise<void> {
      // Let the first wave of connects be accepted (or refused) before the legitimate client starts.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    },
    stop() {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** A PROPFIND from `from`; resolves with the status (0 when the connection failed). */
function propfind(from: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port: s.port, localAddress: from, method: 'PROPFIND', path: '/', headers: { Depth: '0' }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

describe('connection exhaustion', () => {
  it(`${SLOTS} idle connections from one address, re-opened when cut: requests from another address are all served`, async () => {
    const flood = idleFlood(['127.0.0.1'], SLOTS, 4 * SLOTS);
    try {
      await flood.settle();
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push(await propfind('127.0.0.2'));
      expect(statuses.filter((status) => status !== 207)).toEqual([]);
    } finally {
      flood.stop();
    }
    expect(s.log.lines.some((line) => line.includes('too many connections from one address'))).toBe(true);
  });

  it(`${SLOTS} idle connections spread over 50 addresses cannot keep a new client out`, async () => {
    const addresses = Array.from({ length: 50 }, (_, i) => `127.0.1.${i + 1}`);
    const flood = idleFlood(addresses, SLOTS, 4 * SLOTS);
    try {
      await flood.settle();
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push(await propfind('127.0.0.3'));
      expect(statuses.filter((status) => status !== 207)).toEqual([]);
    } finally {
      flood.stop();
    }
  });
});
