/** Authentication and access control for the WebDAV server (used through WebDavOptions.authorize). */
export { createAccessGuard, userLabel, WRITE_METHODS, type AccessGuardOptions, type Authorize } from './access-guard.js';
export { basicAuthorization, parseBasicAuthorization, type BasicCredentials } from './basic-credentials.js';
export { constantTimeEqual } from './constant-time.js';
export { LoginThrottle, type Admission, type LoginThrottleOptions, type ThrottleScope } from './login-throttle.js';
export { HtpasswdError, hashKind, loadHtpasswd, parseHtpasswd, verifyHash, type HtpasswdEntry } from './htpasswd.js';
export { UserStore, type PlainUser, type UserStoreOptions } from './user-store.js';
export { FULL_ACCESS, fromHome, inHome, missingPermissions, PERMISSIONS, type Permission, type UserProfile } from './permissions.js';
export { loadUsersFile, parseUsersFile, UsersFileError, type UsersFile } from './users-file.js';
