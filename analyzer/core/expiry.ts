// When a dependency leaves a scope, and when it may come back.
//
// Leave: an active edge expires once `now > lastSeen + ttl + grace` (grace
//   defaults to 10% of the TTL), so a dependency called about once per TTL
//   does not flap out and back.
// Return: an expired edge returns only on a sighting newer than `now - ttl`:
//   a late, stale record (a backlog older than the TTL) never revives it.
// Restart: no edge expires before `floor` (start + grace), so days without an
//   analyzer running are not taken as days without traffic.
import type { ServiceId } from '../../contracts/index.ts';
import type { Edge } from './edge.ts';

export const DEFAULT_TTL_MS = 7 * 86_400_000;

export class Expiry {
  private nextCheck = Infinity;

  constructor(
    readonly ttlMs: number,
    readonly graceMs: number,
    private readonly floorMs: number,
  ) {
    if (!(ttlMs > 0)) throw new Error(`dependency TTL must be positive, got ${ttlMs} ms`);
    if (!(graceMs >= 0)) throw new Error(`dependency grace must not be negative, got ${graceMs} ms`);
  }

  static defaultGrace(ttlMs: number): number {
    return Math.round(ttlMs / 10);
  }

  deadline(e: Edge): number {
    return this.deadlineAt(e.lastSeen);
  }

  /** When an edge last seen at `lastSeenMs` leaves its scope if unseen until then: never before start + grace. */
  deadlineAt(lastSeenMs: number): number {
    return Math.max(lastSeenMs + this.ttlMs + this.graceMs, this.floorMs);
  }

  /** Whether a sighting at `time` may (re)activate an edge. */
  fresh(time: number, now: number): boolean {
    return time > now - this.ttlMs;
  }

  noteActive(e: Edge): void {
    const d = this.deadline(e);
    if (d < this.nextCheck) this.nextCheck = d;
  }

  due(now: number): boolean {
    return now > this.nextCheck;
  }

  /** Deactivates the edges past their deadline; returns the source services whose scope may shrink. */
  sweep(edges: Iterable<Edge>, now: number, onExpire: (e: Edge) => void): Set<ServiceId> {
    const changed = new Set<ServiceId>();
    this.nextCheck = Infinity;
    for (const e of edges) {
      if (!e.active) continue;
      const d = this.deadline(e);
      if (now > d) {
        e.active = false;
        onExpire(e);
        if (e.kind === 'service') changed.add(e.source);
      } else if (d < this.nextCheck) this.nextCheck = d;
    }
    return changed;
  }
}
