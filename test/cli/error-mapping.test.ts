import { describe, expect, it } from 'vitest';
import { ApiKeyError } from '../../src/cli/api-key.js';
import { remotePath } from '../../src/cli/commands/common.js';
import { BAD_KEY_MESSAGE, NOT_PREMIUM_MESSAGE, toCliError } from '../../src/cli/commands/errors.js';
import { CliError, ExitCode } from '../../src/cli/exit-codes.js';
import { DriveError } from '../../src/drive/types.js';
import { AuthError, FloodError, NotPremiumError, RejectedError, TransientError } from '../../src/fichier/index.js';

describe('toCliError', () => {
  it('maps the client\'s typed errors to the documented codes and messages', () => {
    expect(toCliError(new AuthError('user/info.cgi: Not authenticated #247 (HTTP 401)'))).toEqual(new CliError(BAD_KEY_MESSAGE, ExitCode.auth));
    expect(toCliError(new NotPremiumError('x')).exitCode).toBe(ExitCode.auth);
    expect(toCliError(new NotPremiumError('x')).message).toBe(NOT_PREMIUM_MESSAGE);
    const flood = toCliError(new FloodError('Flood detected: IP Locked #412'), { cooldownSeconds: 57 });
    expect(flood).toEqual(new CliError('1fichier is rate-limiting this account; retry in 57 s', ExitCode.unavailable));
    expect(toCliError(new TransientError('folder/ls.cgi: HTTP 503')).exitCode).toBe(ExitCode.unavailable);
    const refused = toCliError(new RejectedError('file/mv.cgi: No file has been moved #312', { serverMessage: 'No file has been moved #312' }));
    expect(refused.exitCode).toBe(ExitCode.failed);
    expect(refused.message).toContain('#312');
    expect(toCliError(new ApiKeyError('no API key: ...')).exitCode).toBe(ExitCode.usage);
  });

  it('tells a flood or a refused key behind a DriveError by the last failed upstream call', () => {
    const unavailable = new DriveError('unavailable', '1fichier is not answering for now', 30);
    expect(toCliError(unavailable, { lastFailure: { endpoint: 'folder/ls.cgi', outcome: 'error', ms: 1, retries: 2, floods: 3, errorName: 'FloodError' }, cooldownSeconds: 120 }).message).toBe(
      '1fichier is rate-limiting this account; retry in 120 s',
    );
    expect(toCliError(unavailable, { cooldownSeconds: 12 }).message).toBe('1fichier is rate-limiting this account; retry in 12 s');
    expect(toCliError(unavailable).message).toBe('1fichier is not answering for now; retry in 30 s');
    const upstream = new DriveError('upstream', "1fichier refused the account's API key");
    expect(toCliError(upstream, { lastFailure: { endpoint: 'folder/ls.cgi', outcome: 'error', ms: 1, retries: 0, floods: 0, errorName: 'AuthError' } })).toEqual(
      new CliError(BAD_KEY_MESSAGE, ExitCode.auth),
    );
    expect(toCliError(new DriveError('not-found', '/a/b does not exist'), {}, '/a/b')).toEqual(
      new CliError('no such file or folder: /a/b (run `fichier-dav ls /a` to see what exists)', ExitCode.notFound),
    );
    expect(toCliError(new DriveError('exists', '/a exists')).exitCode).toBe(ExitCode.failed);
  });

  it('local file errors name the path', () => {
    const enoent = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', path: '/tmp/nope' });
    expect(toCliError(enoent)).toEqual(new CliError('no such local file or folder: /tmp/nope', ExitCode.failed));
    expect(toCliError(new Error('boom'))).toEqual(new CliError('unexpected error: boom', ExitCode.failed));
  });
});

describe('remotePath', () => {
  it('normalizes to an absolute path and refuses dot segments', () => {
    expect(remotePath(undefined)).toBe('/');
    expect(remotePath('')).toBe('/');
    expect(remotePath('Films//2026/')).toBe('/Films/2026');
    expect(remotePath('/a b/[x].txt')).toBe('/a b/[x].txt');
    expect(() => remotePath('/a/../b')).toThrow(CliError);
  });
});
