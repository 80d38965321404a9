/**
 * Decoder of the chunked transfer coding (RFC 9112 section 7.1) for the download socket: bytes off
 * the wire in, the body's bytes out as views of the input (no copy), strict about the framing.
 * 1fichier's download hosts answer files with a Content-Length; chunked answers are error pages
 * and whatever a proxy in front of them sends.
 */

/** A chunk-size line (size, extensions) longer than this is refused. */
const MAX_LINE = 4096;
/** Trailer section bytes accepted (the fields are read past, never used). */
const MAX_TRAILERS = 64 * 1024;

export class ChunkedBodyError extends Error {
  override name = 'ChunkedBodyError';
}

type State = 'size' | 'data' | 'data-end' | 'trailers' | 'done';

export class ChunkedDecoder {
  private state: State = 'size';
  private line = '';
  private remaining = 0;
  private trailerBytes = 0;

  /** True once the last chunk and the trailer section have arrived. */
  get done(): boolean {
    return this.state === 'done';
  }

  /**
   * Decodes `input`; calls `onData` with each run of body bytes (views of `input`). Returns the
   * bytes of `input` past the end of the body (empty unless the body ended inside it). Throws
   * ChunkedBodyError for malformed framing.
   */
  write(input: Buffer, onData: (data: Buffer) => void): Buffer {
    let at = 0;
    while (at < input.length && this.state !== 'done') {
      if (this.state === 'data') {
        const take = Math.min(this.remaining, input.length - at);
        onData(input.subarray(at, at + take));
        at += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'data-end';
        continue;
      }
      // The other states read lines ending in CRLF.
      const newline = input.indexOf(0x0a, at);
      const end = newline < 0 ? input.length : newline + 1;
      this.line += input.toString('latin1', at, end);
      at = end;
      if (newline < 0) {
        if (this.line.length > MAX_LINE) throw new ChunkedBodyError('chunk line too long');
        continue;
      }
      const line = this.line;
      this.line = '';
      if (!line.endsWith('\r\n')) throw new ChunkedBodyError('chunk line not ended by CRLF');
      const text = line.slice(0, -2);
      if (this.state === 'data-end') {
        if (text !== '') throw new ChunkedBodyError('chunk data longer than its size');
        this.state = 'size';
      } else if (this.state === 'size') {
        const size = /^([0-9A-Fa-f]{1,12})[ \t]*(;.*)?$/.exec(text);
        if (!size) throw new ChunkedBodyError(`malformed chunk size line (${text.length} bytes)`); // never quoted: it may be any bytes of the answer
        this.remaining = parseInt(size[1]!, 16);
        this.state = this.remaining === 0 ? 'trailers' : 'data';
      } else {
        this.trailerBytes += line.length;
        if (this.trailerBytes > MAX_TRAILERS) throw new ChunkedBodyError('trailer section too long');
        if (text === '') this.state = 'done';
      }
    }
    return input.subarray(at);
  }
}
