/**
 * The account's link secret: 32 random bytes created once in the account's `state.db`, so every
 * process given the same state directory (`serve`, `share`, `strm`) signs and verifies links with
 * the same key. Links made before stay valid across restarts; deleting the row (or the state
 * directory) revokes every link at once.
 */
import { randomBytes } from 'node:crypto';
import type { AccountDb } from '../state/account-db.js';

const SECRET_BYTES = 32;

/**
 * The secret, created on first use. Safe when several processes ask at once: the insert is
 * `INSERT OR IGNORE` inside one IMMEDIATE transaction, so all of them read the same row.
 */
export function linkSecret(db: AccountDb): Buffer {
  db.defineSchema({
    name: 'link-secret',
    version: 1,
    migrate: (raw) => raw.exec('CREATE TABLE IF NOT EXISTS link_secret (id INTEGER PRIMARY KEY CHECK (id = 1), secret BLOB NOT NULL)'),
  });
  return db.write(() => {
    db.db.prepare('INSERT OR IGNORE INTO link_secret (id, secret) VALUES (1, ?)').run(randomBytes(SECRET_BYTES));
    const row = db.db.prepare('SELECT secret FROM link_secret WHERE id = 1').get() as { secret: Buffer };
    return Buffer.from(row.secret);
  });
}
