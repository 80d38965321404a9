import { describe, expect, it } from 'vitest';
import {
  AccountLockedError,
  AuthError,
  classifyApiError,
  extractBloc2,
  FloodError,
  ForbiddenError,
  makeRedactor,
  NotFoundError,
  NotPremiumError,
  parseErrorCode,
  PasswordError,
  RejectedError,
  TransientError,
  ProtocolError,
} from '../../src/fichier/errors.js';
import { interpretResponse } from '../../src/fichier/http.js';

describe('error codes and classification', () => {
  it('parses the first # followed by 1-3 digits, as rclone does', () => {
    expect(parseErrorCode('Flood detected: IP Locked #374')).toBe(374);
    expect(parseErrorCode('Resource not found #469')).toBe(469);
    expect(parseErrorCode('a #12345 b')).toBe(123);
    expect(parseErrorCode('no code')).toBeUndefined();
    expect(parseErrorCode(undefined)).toBeUndefined();
  });

  const table: Array<[number, string, new (...a: never[]) => Error]> = [
    [403, 'Flood detected: IP Locked #374', FloodError],
    [403, 'Flood detected: IP Locked #412', FloodError],
    [403, 'Flood detected: IP Locked #38', FloodError],
    [403, 'Flood detected: User Locked #218', FloodError],
    [401, 'Not authenticated #247', AuthError],
    [403, 'No such user #93', AuthError],
    [401, '', AuthError],
    [403, 'Must be a customer (Premium, Access) #200', NotPremiumError],
    [200, 'Must be a customer (Premium, Access) #200', NotPremiumError],
    [404, 'Resource not found #469', NotFoundError],
    [403, 'Resource not allowed #631', ForbiddenError],
    [403, 'Invalid password. Resource not allowed #632', PasswordError],
    [403, 'Password not provided. Resource not allowed #633', PasswordError],
    [403, 'Owner locked #649', AccountLockedError],
    [200, 'Only 1 location allowed at a time #887', AccountLockedError],
    [200, 'Only 3 locations allowed at a time #887', AccountLockedError],
    [503, '', TransientError],
    [429, 'Too many', TransientError],
    [200, 'No file has been renamed #312', RejectedError],
    [200, 'Folder not empty #621', RejectedError],
  ];
  for (const [status, message, cls] of table) {
    it(`HTTP ${status} "${message}" → ${cls.name}`, () => {
      const e = classifyApiError({ httpStatus: status, message, endpoint: 'x.cgi' });
      expect(e).toBeInstanceOf(cls);
      expect(e.httpStatus).toBe(status);
      if (message) {
        expect(e.serverMessage).toBe(message);
        expect(e.code).toBe(parseErrorCode(message));
        expect(e.message).toContain(message);
      }
    });
  }

  it('marks floods and transient errors retryable, the others not', () => {
    expect(classifyApiError({ httpStatus: 403, message: 'Flood detected: IP Locked #374' }).retryable).toBe(true);
    expect(classifyApiError({ httpStatus: 502 }).retryable).toBe(true);
    expect(classifyApiError({ httpStatus: 404, message: 'Resource not found #469' }).retryable).toBe(false);
  });

  it('redacts secrets from server messages', () => {
    const redact = makeRedactor(['s3cret-KEY']);
    const e = classifyApiError({ httpStatus: 401, message: 'Not authenticated s3cret-KEY #247', redact });
    expect(String(e)).not.toContain('s3cret-KEY');
    expect(JSON.stringify(e)).not.toContain('s3cret-KEY');
    expect(e.serverMessage).toBe('Not authenticated [redacted] #247');
  });

  it('extracts the first non-empty bloc2 text of an upload refusal page', () => {
    const html = '<html><body><div class="bloc2"> </div><div class="bloc2">Ne peut ouvrir le fichier&nbsp;destination</div></body></html>';
    expect(extractBloc2(html)).toBe('Ne peut ouvrir le fichier destination');
    expect(extractBloc2('<div class="bloc2">Pas de fichier trouv&eacute; dans l\'envoi</div>')).toBe("Pas de fichier trouvé dans l'envoi");
    expect(extractBloc2('<p>nothing</p>')).toBeUndefined();
  });

  it('classifies whole answers: status field and HTTP status both checked', () => {
    expect(interpretResponse('f', 200, '{"status":"OK","x":1}')).toEqual({ status: 'OK', x: 1 });
    expect(interpretResponse('f', 200, '{"url":"up2","id":"A"}')).toEqual({ url: 'up2', id: 'A' });
    expect(() => interpretResponse('f', 200, '{"message":"No file has been renamed #312","status":"KO"}')).toThrow(RejectedError);
    expect(() => interpretResponse('f', 404, '{"status":"KO","message":"Resource not found #469"}')).toThrow(NotFoundError);
    expect(() => interpretResponse('f', 403, '{"status":"KO","message":"Flood detected: IP Locked #412"}')).toThrow(FloodError);
    expect(() => interpretResponse('f', 502, '<html>Bad Gateway</html>')).toThrow(TransientError);
    expect(() => interpretResponse('f', 200, '<html>oops</html>')).toThrow(ProtocolError);
    expect(() => interpretResponse('f', 200, '{"status":')).toThrow(ProtocolError);
    expect(() => interpretResponse('f', 200, '[1,2]')).toThrow(ProtocolError);
    expect(() => interpretResponse('f', 401, '')).toThrow(AuthError);
  });
});
