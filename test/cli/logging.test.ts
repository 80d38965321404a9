import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/cli/logging.js';
import { redactor } from '../../src/cli/redacting-logger.js';

function capture(isTTY = false) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  return { stream, lines };
}

describe('logging', () => {
  it('writes one JSON object per line when not on a terminal, with level, time and fields', () => {
    const { stream, lines } = capture(false);
    const log = createLogger({ destination: stream, level: 'info' });
    log.info('request', { method: 'GET', path: '/a', status: 200, ms: 1.5 });
    log.debug('hidden at info level');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 30, msg: 'request', method: 'GET', path: '/a', status: 200, ms: 1.5 });
    expect(typeof entry.time).toBe('string');
  });

  it('writes readable lines on a terminal', () => {
    const { stream, lines } = capture(true);
    const log = createLogger({ destination: stream, level: 'info', format: 'auto' });
    log.warn('upstream', { endpoint: 'folder/ls.cgi', outcome: 'error' });
    expect(lines.join('\n')).toMatch(/WARN.*upstream/);
    expect(() => JSON.parse(lines[0])).toThrow();
  });

  it('colours a terminal, but not when NO_COLOR is set (no-color.org)', () => {
    const coloured = capture(true);
    createLogger({ destination: coloured.stream, format: 'auto', env: {} }).warn('upstream');
    expect(coloured.lines.join('\n')).toContain('\u001b[');
    const plain = capture(true);
    createLogger({ destination: plain.stream, format: 'auto', env: { NO_COLOR: '1' } }).warn('upstream');
    expect(plain.lines.join('\n')).toMatch(/WARN.*upstream/);
    expect(plain.lines.join('\n')).not.toContain('\u001b[');
  });

  it('never prints a secret, in messages, nested fields, errors or credential-named fields', () => {
    const key = 'sEcReT-api-key-1234567890';
    const { stream, lines } = capture(false);
    const log = createLogger({ destination: stream, secrets: [key, 'hunter2'] });
    log.error(`failed with ${key}`, {
      error: new Error(`Bearer ${key} refused`),
      nested: { deeper: [`x${key}y`] },
      authorization: 'Basic dXNlcjpodW50ZXIy',
      password: 'anything',
      note: 'the password is hunter2',
    });
    const text = lines.join('\n');
    expect(text).not.toContain(key);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('dXNlcjpodW50ZXIy');
    expect(text).toContain('[redacted]');
  });

  it('redacts longer secrets before shorter ones that they contain', () => {
    const scrub = redactor(['abcd', 'abcdefgh']);
    expect(scrub('xx abcdefgh yy')).toBe('xx [redacted] yy');
  });
});
