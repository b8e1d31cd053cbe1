// Which of one stream's responses carry which cache change, so a change can be
// reported once it has reached the client. A change marks the types it touched;
// the next response of a type carries every change marked on it (a burst of
// changes becomes one response), and the change is delivered when no type
// still waits to send it and every response that carried it was answered.
// A type the stream decides needs no response (nothing it subscribes to
// changed) stops waiting; one whose removals are withheld (make before break)
// keeps waiting for the response that finally removes them.
import type { ConfigChange } from '../types.ts';
import type { PushResponse } from './events.ts';

export interface OpenPush {
  readonly change: ConfigChange;
  readonly responses: PushResponse[];
  answeredAt?: number;
  /** Type slots (waiting or in flight) still holding this change. */
  refs: number;
}

interface InFlight {
  version: string;
  nonce: string;
  pushes: Set<OpenPush>;
}

export class PushTracker {
  /** Changes marked on a type and not yet sent in full. */
  private readonly waiting = new Map<string, Set<OpenPush>>();
  /** The response of a type awaiting its answer, and the changes it carries. */
  private readonly inFlight = new Map<string, InFlight>();

  constructor(private readonly delivered: (push: OpenPush) => void) {}

  /** A cache change; `types` are those of its types the client has requested. */
  changed(change: ConfigChange, types: Iterable<string>): void {
    const push: OpenPush = { change, responses: [], refs: 0 };
    for (const t of types) {
      let set = this.waiting.get(t);
      if (!set) this.waiting.set(t, (set = new Set()));
      set.add(push);
      push.refs++;
    }
    if (push.refs === 0) this.delivered(push);
  }

  /** A response of `typeUrl` went out; `withheld` = it still lacks removals a later response will carry. */
  sent(typeUrl: string, version: string, nonce: string, withheld: boolean): void {
    const set = this.waiting.get(typeUrl);
    if (!set?.size) return;
    this.inFlight.set(typeUrl, { version, nonce, pushes: new Set(set) });
    for (const p of set) p.refs++;
    if (!withheld) this.release(typeUrl);
  }

  /** The stream decided `typeUrl` needs no response (and withholds nothing). */
  unneeded(typeUrl: string): void {
    this.release(typeUrl);
  }

  /** The client answered the in-flight response of `typeUrl`. */
  answered(typeUrl: string, ack: boolean, message: string | undefined): void {
    const f = this.inFlight.get(typeUrl);
    if (!f) return;
    this.inFlight.delete(typeUrl);
    const at = performance.now();
    for (const p of f.pushes) {
      p.responses.push({ typeUrl, version: f.version, nonce: f.nonce, ack, ...(message !== undefined ? { message } : {}) });
      p.answeredAt = at;
      this.unref(p);
    }
  }

  private release(typeUrl: string): void {
    const set = this.waiting.get(typeUrl);
    if (!set) return;
    this.waiting.delete(typeUrl);
    for (const p of set) this.unref(p);
  }

  private unref(p: OpenPush): void {
    if (--p.refs === 0) this.delivered(p);
  }
}
