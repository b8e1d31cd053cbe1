// Passive outlier detection: an endpoint whose connections fail, or that
// answers 5xx, several times in a row is ejected from round robin for a while,
// longer each time it is ejected again (base × 2^n, capped). Like Envoy's
// outlier detection, never more than a share of a route's endpoints is out,
// and when every endpoint is out the route uses them all rather than none.

export interface OutlierOptions {
  /** Consecutive failures (connect failures, resets, 5xx) that eject an endpoint; 0 disables ejection. Default 5. */
  consecutiveFailures: number;
  /** First ejection lasts this long; each further one doubles it. Default 10000. */
  baseEjectionMs: number;
  /** No ejection lasts longer. Default 300000. */
  maxEjectionMs: number;
  /** At most this share of a route's endpoints is ejected at once (at least one is always allowed). Default 50. */
  maxEjectionPercent: number;
}

export const DEFAULT_OUTLIER: OutlierOptions = { consecutiveFailures: 5, baseEjectionMs: 10_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 };

/** What the detector knows of one endpoint (`address:port`), shared by every route that reaches it. */
export class EndpointHealth {
  failures = 0;
  /** When the ejection ends (ms since epoch); 0 while in rotation. */
  ejectedUntil = 0;
  /** Ejections so far without a healthy run in between: the back-off exponent. */
  ejections = 0;
  successes = 0;

  constructor(
    readonly key: string,
    private readonly stats: OutlierStats,
  ) {}

  /** Whether round robin skips it now; an ejection that ran out readmits the endpoint. */
  ejected(now: number): boolean {
    if (this.ejectedUntil === 0) return false;
    if (now < this.ejectedUntil) return true;
    this.ejectedUntil = 0;
    this.failures = 0;
    this.stats.readmissions++;
    return false;
  }
}

export interface OutlierStats {
  ejections: number;
  readmissions: number;
  /** Ejections not made because the route had its share of endpoints out already. */
  skipped: number;
}

export class OutlierDetector {
  private readonly health = new Map<string, EndpointHealth>();
  readonly stats: OutlierStats = { ejections: 0, readmissions: 0, skipped: 0 };

  constructor(readonly options: OutlierOptions = DEFAULT_OUTLIER) {}

  of(key: string): EndpointHealth {
    let h = this.health.get(key);
    if (!h) this.health.set(key, (h = new EndpointHealth(key, this.stats)));
    return h;
  }

  /** Endpoints ejected right now. */
  ejectedCount(now = Date.now()): number {
    let n = 0;
    for (const h of this.health.values()) if (h.ejectedUntil > now) n++;
    return n;
  }

  succeeded(h: EndpointHealth): void {
    h.failures = 0;
    // A healthy run as long as the ejection threshold forgets earlier ejections.
    if (h.ejections > 0 && ++h.successes >= Math.max(1, this.options.consecutiveFailures)) {
      h.ejections = 0;
      h.successes = 0;
    }
  }

  /** Counts a failure; ejects the endpoint when it has failed often enough and its route can spare it. */
  failed(h: EndpointHealth, routeEndpoints: readonly { health: EndpointHealth }[]): void {
    const { consecutiveFailures, baseEjectionMs, maxEjectionMs, maxEjectionPercent } = this.options;
    h.successes = 0;
    if (consecutiveFailures === 0 || ++h.failures < consecutiveFailures) return;
    const now = Date.now();
    if (h.ejected(now)) return;
    let out = 0;
    for (const e of routeEndpoints) if (e.health !== h && e.health.ejected(now)) out++;
    const allowed = Math.max(1, Math.floor((routeEndpoints.length * maxEjectionPercent) / 100));
    if (out + 1 > allowed) {
      this.stats.skipped++;
      return;
    }
    h.ejectedUntil = now + Math.min(maxEjectionMs, baseEjectionMs * 2 ** h.ejections);
    h.ejections++;
    h.failures = 0;
    this.stats.ejections++;
  }

  /** Forgets endpoints that left the inventory. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.health.keys()) if (!keys.has(key)) this.health.delete(key);
  }
}
