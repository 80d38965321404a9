/** Raw HTTP for write tests: PUTs whose body is sent in timed pieces, chunked or not, and any method. */
import http from 'node:http';

export interface Answer {
  /** 0 when the connection closed without a status line. */
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export interface SendSpec {
  method: string;
  url: string;
  headers?: Record<string, string | number>;
  /** Body pieces, written one after the other. */
  pieces?: Buffer[];
  /** Wait between pieces (real ms). */
  pauseMs?: number;
  /** Called once every piece was written (e.g. to start a concurrent request). */
  onPiece?: (index: number) => void;
  signal?: AbortSignal;
}

/** Sends one request; never rejects: a reset or abort gives status 0 with the error in `text`. */
export function send(spec: SendSpec): Promise<Answer> {
  return new Promise((resolve) => {
    const request = http.request(spec.url, { method: spec.method, headers: spec.headers, signal: spec.signal }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', (error) => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: String(error) }));
    });
    request.on('error', (error) => resolve({ status: 0, headers: {}, text: String(error) }));
    void (async () => {
      const pieces = spec.pieces ?? [];
      for (let index = 0; index < pieces.length; index += 1) {
        if (request.destroyed) return;
        request.write(pieces[index]);
        spec.onPiece?.(index);
        if (spec.pauseMs && index < pieces.length - 1) await new Promise((done) => setTimeout(done, spec.pauseMs));
      }
      request.end();
    })();
  });
}

/** Bytes that differ per `seed`, so each body is recognisable in the account. */
export function bodyOf(seed: number, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let index = 0; index < size; index += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  return bytes;
}
