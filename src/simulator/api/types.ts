/** Shapes shared by the /v1 endpoint handlers. */
import type { SimContext } from '../context.js';
import { MSG } from '../messages.js';

export interface ApiCall {
  ctx: SimContext;
  body: Record<string, unknown>;
  /** Limiter identity: the API key, or `ip:<addr>` for anonymous calls. */
  who: string;
  authenticated: boolean;
}

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

export type ApiHandler = (call: ApiCall) => ApiAnswer | Promise<ApiAnswer>;

/** Thrown by handlers to answer a KO envelope. */
export class ApiError extends Error {
  constructor(readonly httpStatus: number, message: string) {
    super(message);
  }
}

export function ok(body: Record<string, unknown>, status = 200): ApiAnswer {
  return { status, body: { status: 'OK', ...body } };
}

/** An integer parameter; clients send JSON integers, but digit strings are tolerated. */
export function intParam(body: Record<string, unknown>, name: string, fallback?: number): number {
  const v = body[name];
  if (v === undefined || v === null || v === '') {
    if (fallback !== undefined) return fallback;
    throw new ApiError(400, MSG.badParameter(`${name} is required`));
  }
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  throw new ApiError(400, MSG.badParameter(`${name} must be an integer`));
}

export function flagParam(body: Record<string, unknown>, name: string): 0 | 1 | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (v === 1 || v === '1' || v === true) return 1;
  if (v === 0 || v === '0' || v === false) return 0;
  throw new ApiError(400, MSG.badParameter(`${name} must be 0 or 1`));
}

export function stringParam(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ApiError(400, MSG.badParameter(`${name} must be a string`));
  return v;
}

export function arrayParam(body: Record<string, unknown>, name: string): unknown[] {
  const v = body[name];
  if (!Array.isArray(v) || v.length === 0) throw new ApiError(400, MSG.badParameter(`${name} must be a non-empty array`));
  return v;
}
