/**
 * Download links (get_token answers) per file. A token lives about 5 minutes upstream, so one
 * token can serve every Range request of a playback session: a media player that seeks 200 times
 * costs one get_token call, not 200. Concurrent requests for the same file share one in-flight
 * get_token call. A link that the direct host refused (HTML page, error status) is dropped with
 * `invalidate` and the next request fetches a fresh one.
 *
 * With `single` links (one GET each), nothing is reused: every read asks for its own token.
 */
import { LRUCache } from 'lru-cache';

export interface LinkCacheOptions {
  /** How long a link is reused, in ms. Keep it below the upstream lifetime (5 min). */
  reuseMs: number;
  /** true when links are single-use (get_token `single: 1`): never reuse. */
  single: boolean;
  maxEntries?: number;
  now?: () => number;
}

interface CachedLink {
  url: string;
  expiresAt: number;
}

export class LinkCache {
  private readonly links: LRUCache<string, CachedLink>;
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly now: () => number;

  constructor(private readonly options: LinkCacheOptions) {
    this.links = new LRUCache({ max: options.maxEntries ?? 10_000 });
    this.now = options.now ?? Date.now;
  }

  /** A direct link for `fileUrl`, from the cache or from `fetchLink` (shared by concurrent callers). */
  async get(fileUrl: string, fetchLink: () => Promise<string>): Promise<string> {
    if (this.options.single) return fetchLink();
    const cached = this.links.get(fileUrl);
    if (cached && cached.expiresAt > this.now()) return cached.url;
    const pending = this.inFlight.get(fileUrl);
    if (pending) return pending;
    const started = this.now();
    const request = fetchLink()
      .then((url) => {
        this.links.set(fileUrl, { url, expiresAt: started + this.options.reuseMs });
        return url;
      })
      .finally(() => this.inFlight.delete(fileUrl));
    this.inFlight.set(fileUrl, request);
    return request;
  }

  /** Drops the cached link, but only if it is still `directUrl` (a newer one may have replaced it). */
  invalidate(fileUrl: string, directUrl?: string): void {
    const cached = this.links.peek(fileUrl);
    if (cached && (directUrl === undefined || cached.url === directUrl)) this.links.delete(fileUrl);
  }
}
