/**
 * `/__sim/*` on the API host: stats, log, reset, faults and options for tests and benchmarks.
 * No auth (loopback tool), never counted in stats, never subject to limits or faults.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './envelope.js';
import { FaultError } from './faults.js';
import { OptionsError } from './options.js';

export interface ControlSurface {
  stats(): unknown;
  log(): unknown;
  reset(): void;
  faults(): unknown;
  setFaults(patch: unknown): unknown;
  clearFaults(): void;
  publicOptions(): unknown;
  setOptions(patch: Record<string, unknown>): unknown;
  advanceClock(ms: number): void;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) {
        reject(new OptionsError('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new OptionsError('body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

const style = { pretty: true, shuffle: false };

export async function handleControl(surface: ControlSurface, req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
  const method = req.method ?? 'GET';
  const route = `${method} ${pathname}`;
  try {
    switch (route) {
      case 'GET /__sim/stats':
        req.resume();
        return sendJson(res, 200, surface.stats(), style);
      case 'GET /__sim/log':
        req.resume();
        return sendJson(res, 200, surface.log(), style);
      case 'POST /__sim/reset':
        await readJson(req);
        surface.reset();
        return sendJson(res, 200, { status: 'OK' }, style);
      case 'GET /__sim/faults':
        req.resume();
        return sendJson(res, 200, surface.faults(), style);
      case 'POST /__sim/faults': {
        const body = (await readJson(req)) as Record<string, unknown>;
        if (body && typeof body === 'object' && body.clear === true) {
          surface.clearFaults();
          const { clear: _c, ...rest } = body;
          return sendJson(res, 200, surface.setFaults(rest), style);
        }
        return sendJson(res, 200, surface.setFaults(body), style);
      }
      case 'GET /__sim/options':
        req.resume();
        return sendJson(res, 200, surface.publicOptions(), style);
      case 'POST /__sim/options': {
        const body = await readJson(req);
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw new OptionsError('options must be a JSON object');
        return sendJson(res, 200, surface.setOptions(body as Record<string, unknown>), style);
      }
      case 'POST /__sim/clock': {
        const body = (await readJson(req)) as { advanceMs?: unknown };
        if (typeof body.advanceMs !== 'number' || !Number.isFinite(body.advanceMs) || body.advanceMs < 0) throw new OptionsError('advanceMs must be a non-negative number');
        surface.advanceClock(body.advanceMs);
        return sendJson(res, 200, { status: 'OK' }, style);
      }
      default:
        req.resume();
        return sendJson(res, 404, { error: `unknown control route ${route}` }, style);
    }
  } catch (err) {
    if (err instanceof OptionsError || err instanceof FaultError) return sendJson(res, 400, { error: err.message }, style);
    throw err;
  }
}
