/**
 * A multipart/form-data body for one upload: optional text fields, then one file part `file[]`,
 * streamed from any Readable of known size. The exact Content-Length is known before the first
 * byte is sent (the upload node requires it and refuses chunked bodies), and the file bytes are
 * never buffered: each chunk goes through as it is read.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

export interface MultipartFile {
  /** Form field name (1fichier: `file[]`). */
  field: string;
  /** Stored name on 1fichier (already encoded by the caller). */
  filename: string;
  size: number;
  source: AsyncIterable<Uint8Array> | Readable;
  contentType?: string;
}

export interface MultipartBody {
  /** For the Content-Type header: `multipart/form-data; boundary=<b>` (unquoted). */
  contentType: string;
  contentLength: number;
  boundary: string;
  stream: Readable;
}

/**
 * Quoted-string value for a Content-Disposition parameter. Backslash and double quote are
 * backslash-escaped (as Go's mime/multipart does, which is what rclone sends to 1fichier); CR and
 * LF cannot appear in a header at all, so they are percent-encoded as browsers do.
 */
export function quoteParam(value: string): string {
  return (
    '"' +
    value
      .replace(/\\/g, '\\\\')
      .replace(/"/g, '\\"')
      .replace(/\r/g, '%0D')
      .replace(/\n/g, '%0A') +
    '"'
  );
}

/** The source did not deliver exactly the announced number of bytes. */
export class SourceLengthError extends RangeError {}

export function makeBoundary(): string {
  // Letters and digits only: valid unquoted, as the upload node wants.
  return `----FichierDavBoundary${randomBytes(12).toString('hex')}`;
}

export function buildMultipart(fields: Array<[string, string]>, file: MultipartFile, boundary = makeBoundary()): MultipartBody {
  if (!Number.isSafeInteger(file.size) || file.size < 0) throw new RangeError(`invalid size ${file.size}`);
  let head = '';
  for (const [name, value] of fields) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name=${quoteParam(name)}\r\n\r\n${value}\r\n`;
  }
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name=${quoteParam(file.field)}; filename=${quoteParam(file.filename)}\r\n` +
    `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`;
  const headBuf = Buffer.from(head, 'utf8');
  const tailBuf = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  const contentLength = headBuf.length + file.size + tailBuf.length;

  async function* generate(): AsyncGenerator<Uint8Array> {
    yield headBuf;
    let seen = 0;
    for await (const chunk of file.source as AsyncIterable<Uint8Array | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      seen += buf.length;
      if (seen > file.size) throw new SourceLengthError(`the source is longer than the announced size ${file.size}`);
      if (buf.length > 0) yield buf;
    }
    if (seen !== file.size) throw new SourceLengthError(`the source ended after ${seen} of ${file.size} bytes`);
    yield tailBuf;
  }

  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength,
    boundary,
    stream: Readable.from(generate(), { objectMode: false }),
  };
}
