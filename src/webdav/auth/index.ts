/** Authentication and access control for the WebDAV server (used through WebDavOptions.authorize). */
export { createAccessGuard, WRITE_METHODS, type AccessGuardOptions, type Authorize } from './access-guard.js';
export { basicAuthorization, parseBasicAuthorization, type BasicCredentials } from './basic-credentials.js';
export { constantTimeEqual } from './constant-time.js';
export { FailureBackoff, type BackoffOptions } from './failure-backoff.js';
export { HtpasswdError, hashKind, loadHtpasswd, parseHtpasswd, verifyHash, type HtpasswdEntry } from './htpasswd.js';
export { UserStore, type PlainUser, type UserStoreOptions } from './user-store.js';
