/**
 * Which API keys 1fichier accepted for this account (their fingerprints, never the keys): a
 * restarted `serve` whose key was accepted before need not wait for the user/info window to start
 * serving; it checks the key in the background once the window opens.
 */
import type { AccountDb } from './account-db.js';

export const ACCEPTED_KEYS_SCHEMA = {
  name: 'accepted-keys',
  version: 1,
  migrate(db: AccountDb['db']): void {
    db.exec('CREATE TABLE IF NOT EXISTS accepted_keys (fingerprint TEXT PRIMARY KEY, accepted_at REAL NOT NULL)');
  },
};

export class AcceptedKeys {
  constructor(private readonly account: AccountDb) {
    account.defineSchema(ACCEPTED_KEYS_SCHEMA);
  }

  has(fingerprint: string): boolean {
    return this.account.db.prepare('SELECT 1 FROM accepted_keys WHERE fingerprint = ?').get(fingerprint) !== undefined;
  }

  /** Records an acceptance at `at` (wall-clock ms). */
  accept(fingerprint: string, at = Date.now()): void {
    this.account.write(() =>
      this.account.db
        .prepare('INSERT INTO accepted_keys (fingerprint, accepted_at) VALUES (?, ?) ON CONFLICT(fingerprint) DO UPDATE SET accepted_at = excluded.accepted_at')
        .run(fingerprint, at),
    );
  }

  /** 1fichier refused it: the next start checks again before serving. */
  forget(fingerprint: string): void {
    this.account.write(() => this.account.db.prepare('DELETE FROM accepted_keys WHERE fingerprint = ?').run(fingerprint));
  }
}
