// Per-stream, per-type protocol state: subscription, the one response that
// may be in flight, nonce/version bookkeeping and what the client holds.
import type { TypeStatus } from '../../contracts/scope.ts';
import type { WireStatus } from './ads-service.ts';
import { Subscription } from './subscription.ts';

export type NonceVerdict = 'answer' | 'current' | 'stale';

/** `H` is what we remember per resource the client holds (the resource in SotW, its version in delta). */
export class TypeState<H> {
  readonly sub: Subscription;
  /** The client has sent at least one request for this type. */
  requested = false;
  /** Something (cache change, subscription change) may call for a response. */
  dirty = false;
  /** Removals withheld until dependent types settle (make before break). */
  held = false;
  /** A response was sent and its ACK/NACK has not arrived yet. */
  inFlight = false;
  nonceSent?: string;
  versionSent?: string;
  versionAcked?: string;
  lastNack?: { version?: string; message: string; at: string };
  /** Names that must be sent even though the client holds the same version. */
  readonly forced = new Set<string>();
  /** Send every subscribed resource again (the wildcard was newly subscribed). */
  forceAll = false;
  /** What the client holds, by resource name. */
  readonly client = new Map<string, H>();

  constructor(readonly typeUrl: string) {
    this.sub = new Subscription(typeUrl);
  }

  /**
   * How a request's response_nonce relates to our responses of this type. Only
   * a nonce we sent can go stale: before our first response any nonce (e.g.
   * one kept from a previous stream) is current.
   */
  verdict(nonce: string | undefined): NonceVerdict {
    if (this.nonceSent === undefined) return 'current';
    if (nonce !== this.nonceSent) return 'stale';
    return this.inFlight ? 'answer' : 'current';
  }

  /** The request answers our in-flight response: ACK unless error_detail is set (NACK). */
  recordAnswer(error: WireStatus | undefined): 'ack' | 'nack' {
    this.inFlight = false;
    if (error) {
      this.lastNack = {
        ...(this.versionSent !== undefined ? { version: this.versionSent } : {}),
        message: error.message || `NACK without message (code ${error.code ?? 0})`,
        at: new Date().toISOString(),
      };
      return 'nack';
    }
    this.versionAcked = this.versionSent;
    return 'ack';
  }

  /** Nothing to send and nothing pending: dependent removals may proceed. */
  get settled(): boolean {
    return !this.requested || (!this.inFlight && !this.dirty);
  }

  status(): TypeStatus {
    return {
      subscribed: this.sub.describe(),
      ...(this.versionSent !== undefined ? { versionSent: this.versionSent } : {}),
      ...(this.versionAcked !== undefined ? { versionAcked: this.versionAcked } : {}),
      ...(this.nonceSent !== undefined ? { nonceSent: this.nonceSent } : {}),
      ...(this.lastNack ? { lastNack: { ...this.lastNack } } : {}),
      resources: this.client.size,
    };
  }
}
