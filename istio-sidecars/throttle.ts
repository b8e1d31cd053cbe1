// How writes are spaced. Changes are gathered until they go quiet for
// `quietMs` (or `maxDelayMs` after the first, so steady churn still gets
// written); then every touched Sidecar is written once, at most `qps` writes a
// second with bursts of `burst`, like client-go's client-side rate limit, and
// `concurrency` at a time, so a burst is not paced by one request's latency.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`rate limit: qps must be > 0 and burst >= 1 (got qps ${qps}, burst ${burst})`);
    this.tokens = burst;
    this.last = now();
  }

  /** Resolves when a write may go. */
  async take(): Promise<void> {
    for (;;) {
      const t = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
      this.last = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.qps) * 1000)));
    }
  }
}

export class Debounce {
  private timer?: NodeJS.Timeout;
  private first?: number;

  constructor(
    private readonly quietMs: number,
    private readonly maxDelayMs: number,
    private readonly fire: () => void,
  ) {}

  poke(): void {
    const now = performance.now();
    this.first ??= now;
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.quietMs, this.first + this.maxDelayMs - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.first = undefined;
      this.fire();
    }, wait);
  }

  get pending(): boolean {
    return this.timer !== undefined;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.first = undefined;
  }
}

/** Runs `task` over `items`, at most `limit` at a time. */
export async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
