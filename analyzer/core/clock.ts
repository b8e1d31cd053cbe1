// Every time-dependent decision (TTL expiry, dedupe window) reads one clock,
// so replay can run on recorded time and tests can step time by hand.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** A record's time was seen: a virtual clock moves forward to it; wall time ignores it. */
  observe(timeMs: number): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  observe: () => {},
};

/** Time that only moves when told: to the latest record time seen (replay), or by `set` (tests). */
export class VirtualClock implements Clock {
  constructor(private t = 0) {}

  now(): number {
    return this.t;
  }

  observe(timeMs: number): void {
    if (timeMs > this.t) this.t = timeMs;
  }

  set(timeMs: number): void {
    this.t = timeMs;
  }

  advance(ms: number): void {
    this.t += ms;
  }
}
