/**
 * The account's download connections: 1fichier allows a premium account a fixed number of
 * simultaneous connections to its download hosts (30), counted across every process and machine
 * using the account. Every upstream download (one ranged GET on a direct link) holds one slot of
 * a `ConnectionBudget` from its request until its body ends or is destroyed.
 *
 * `interactive` is a client waiting for bytes (a playing stream, a PROPFIND-driven probe);
 * `background` is read-ahead and cache warming: it waits while interactive work waits.
 */
export type ConnectionPriority = 'interactive' | 'background';

export interface ConnectionBudget {
  /**
   * Resolves with the release of one slot once one is free (interactive ones first). Rejects with
   * the signal's reason when `signal` aborts first. The release is idempotent.
   */
  acquire(priority: ConnectionPriority, signal?: AbortSignal): Promise<() => void>;
}

/** 1fichier's concurrent downloads per premium account (the 31st gets a 403 page). */
export const ACCOUNT_DOWNLOAD_CONNECTIONS = 30;
