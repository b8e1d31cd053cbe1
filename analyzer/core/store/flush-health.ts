// The one policy for a store that fails to write (disk full, schema broken,
// file gone): keep serving from memory, keep what failed pending, retry with
// back-off, answer /readyz 503 while failing, count every failed attempt.
// Whoever calls flush() (the 1 s timer, a transport before it acknowledges)
// goes through the same bookkeeping; only the timer retries, so a transport
// never needs a retry loop of its own.

const MAX_BACKOFF_MS = 30_000;

export class FlushHealth {
  /** Failed flush attempts since start, from any caller. */
  failures = 0;
  private consecutive = 0;
  private since?: number;
  private lastError = '';

  constructor(private readonly log: (msg: string) => void) {}

  get failing(): boolean {
    return this.consecutive > 0;
  }

  failed(err: Error, now: number): void {
    this.failures++;
    this.lastError = err.message;
    if (this.consecutive++ === 0) {
      this.since = now;
      this.log(
        `store: flush failed (${err.message}); still serving from memory, nothing ingested is dropped, ` +
          'retrying with back-off; /readyz answers 503 until a flush succeeds',
      );
    }
  }

  succeeded(now: number): void {
    if (this.consecutive === 0) return;
    this.log(`store: flush succeeds again after ${this.consecutive} failed attempts over ${now - this.since!} ms`);
    this.consecutive = 0;
    this.since = undefined;
  }

  /** When the timer tries next: the interval while healthy, doubling per failure up to 30 s. */
  nextDelay(intervalMs: number): number {
    return this.consecutive === 0 ? intervalMs : Math.min(MAX_BACKOFF_MS, intervalMs * 2 ** (this.consecutive - 1));
  }

  /** Why the analyzer is not ready, or undefined. */
  problem(): string | undefined {
    if (!this.failing) return undefined;
    return `the store fails to write since ${new Date(this.since!).toISOString()} (${this.consecutive} attempts): ${this.lastError}; ingested records are kept in memory and retried`;
  }
}
