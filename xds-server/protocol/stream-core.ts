// What SotW and delta ADS streams share: node identity and cache attachment on
// the first request, per-type state, cache change notifications, status
// registration, the pump that sends at most one response per type at a
// time, in push order, and the events that report answers and delivered
// changes. Subclasses decide what a request means and what a response
// contains.
import { status as Status, type status } from '@grpc/grpc-js';
import type { TypeStatus } from '../../contracts/scope.ts';
import { TypeUrl, type ConfigChange, type EncodedResource, type NodeHandle, type XdsCache, type XdsNode } from '../types.ts';
import { nonceSource } from './nonces.ts';
import { ProtocolError, statusOf } from './errors.ts';
import type { ProtocolEvents } from './events.ts';
import { nodeIdentity, type WireNode } from './node-identity.ts';
import { mayRemove, pushRank, waitsFor } from './push-order.ts';
import { PushTracker, type OpenPush } from './push-tracking.ts';
import type { NodeStatusRegistry, StreamView } from './status.ts';
import { TypeState } from './type-state.ts';

/** Where a stream's output goes: the transport (grpc-server.ts) or a test. */
export interface StreamSink {
  /** The peer's address as grpc-js reports it (`IP:PORT`, `[IPv6]:PORT`); none in unit tests. */
  peer?: string;
  send(bytes: Buffer): void;
  /** Ends the stream with a gRPC status. */
  fail(code: status, details: string): void;
}

export interface StreamDeps {
  cache: XdsCache;
  status: NodeStatusRegistry;
  log: (line: string) => void;
  /** Where answers and delivered changes are reported; none = not reported. */
  events?: ProtocolEvents;
  /** Why a node is refused (its id contradicts the peer address), or undefined; none = every node is believed. */
  admit?: (node: XdsNode, peer: string) => string | undefined;
}

const SERVED: ReadonlySet<string> = new Set(Object.values(TypeUrl));
const NOTHING: ReadonlyMap<string, EncodedResource> = new Map();
const MAX_PASSES = 4;

export abstract class AdsStream<H> implements StreamView {
  node!: XdsNode;
  handle!: NodeHandle;
  readonly connectedAt = new Date();
  bytesPushed = 0;
  protected readonly nextNonce = nonceSource();
  private readonly states = new Map<string, TypeState<H>>();
  /** The states in push order, kept sorted as types appear. */
  private ordered: TypeState<H>[] = [];
  private scheduled = false;
  private closed = false;
  private cleanup: (() => void)[] = [];
  private warnedTypes = new Set<string>();
  private readonly pushes = new PushTracker((p) => this.delivered(p));

  constructor(
    protected readonly deps: StreamDeps,
    private readonly sink: StreamSink,
    private readonly method: string,
  ) {}

  /** One decoded request from the client. Failures end the stream with their status. */
  receive(request: unknown): void {
    if (this.closed) return;
    try {
      this.handleRequest(request);
      this.schedule();
    } catch (err) {
      this.fail(err);
    }
  }

  /** Ends the stream's bookkeeping (client gone, or server closing). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.cleanup.splice(0).reverse()) {
      try {
        fn();
      } catch (err) {
        this.deps.log(`xds: cleanup of ${this.describe()} failed: ${(err as Error).message}`);
      }
    }
  }

  types(): Record<string, TypeStatus> {
    const out: Record<string, TypeStatus> = {};
    for (const st of this.ordered) if (st.requested) out[st.typeUrl] = st.status();
    return out;
  }

  protected abstract handleRequest(request: unknown): void;
  /** Decides the response for one type; commits the state it implies and returns its bytes, or null. */
  protected abstract plan(st: TypeState<H>): Buffer | null;

  /** Attaches to the cache on the first request; later requests need not repeat the node. */
  protected identify(raw: WireNode | undefined): void {
    if (this.node) return;
    const node = nodeIdentity(raw, this.method);
    const refused = this.sink.peer === undefined ? undefined : this.deps.admit?.(node, this.sink.peer);
    if (refused) throw new ProtocolError(Status.PERMISSION_DENIED, refused);
    this.node = node;
    this.handle = this.deps.cache.attach(this.node);
    this.cleanup.push(() => this.handle.detach());
    this.cleanup.push(this.handle.onChange((types, changes) => this.changed(types, changes)));
    this.cleanup.push(this.deps.status.open(this));
  }

  protected stateFor(typeUrl: string | undefined): TypeState<H> {
    if (!typeUrl) {
      throw new ProtocolError(Status.INVALID_ARGUMENT, `${this.method} request without type_url: every ADS request must name its resource type`);
    }
    let st = this.states.get(typeUrl);
    if (!st) {
      st = new TypeState<H>(typeUrl);
      this.states.set(typeUrl, st);
      this.ordered = [...this.states.values()].sort((a, b) => pushRank(a.typeUrl) - pushRank(b.typeUrl));
      if (!SERVED.has(typeUrl) && !this.warnedTypes.has(typeUrl)) {
        this.warnedTypes.add(typeUrl);
        this.deps.log(`xds: ${this.describe()} asked for ${typeUrl}, which this server does not serve; it will get no resources of that type`);
      }
    }
    return st;
  }

  /** Tells the cache a served type's explicit subscription (proxyless gRPC dependencies come from it). */
  protected tellCache(st: TypeState<H>): void {
    if (SERVED.has(st.typeUrl)) this.handle.subscribed(st.typeUrl as TypeUrl, new Set(st.sub.names));
  }

  /** The node's resources of `st`'s type, and those the client's subscription covers. */
  protected covered(st: TypeState<H>): { all: ReadonlyMap<string, EncodedResource>; content: EncodedResource[] } {
    const all = SERVED.has(st.typeUrl) ? this.handle.resources(st.typeUrl as TypeUrl) : NOTHING;
    const content: EncodedResource[] = [];
    if (st.sub.wildcard) for (const r of all.values()) content.push(r);
    else for (const n of st.sub.names) {
      const r = all.get(n);
      if (r) content.push(r);
    }
    return { all, content };
  }

  protected state(typeUrl: string): TypeState<H> | undefined {
    return this.states.get(typeUrl);
  }

  /** Whether `st`'s removals may go out now (see push-order.ts). */
  protected mayRemove(st: TypeState<H>): boolean {
    return mayRemove(st.typeUrl, this.ordered);
  }

  /** Records the client's answer to our in-flight response of `st`'s type (recordAnswer has run). */
  protected logAnswer(st: TypeState<H>, kind: 'ack' | 'nack'): void {
    const message = kind === 'nack' ? st.lastNack?.message : undefined;
    if (kind === 'nack') {
      this.deps.log(`xds: ${this.describe()} rejected ${st.typeUrl} version ${st.lastNack?.version ?? '?'}: ${message}`);
    }
    this.pushes.answered(st.typeUrl, kind === 'ack', message);
    const events = this.deps.events;
    if (events?.wantsAnswers) {
      const workload = this.handle.workload;
      events.answer({
        nodeId: this.node.id,
        ...(workload ? { workload } : {}),
        typeUrl: st.typeUrl,
        version: st.versionSent ?? '',
        nonce: st.nonceSent ?? '',
        ack: kind === 'ack',
        ...(message !== undefined ? { message } : {}),
      });
    }
  }

  protected describe(): string {
    return this.node ? `node ${this.node.id} (${this.method})` : `unidentified ${this.method} stream`;
  }

  private changed(types: ReadonlySet<TypeUrl>, changes: readonly ConfigChange[] | undefined): void {
    if (this.closed) return;
    for (const t of types) {
      const st = this.states.get(t);
      if (st?.requested) st.dirty = true;
    }
    // Tracked only where someone may listen (a bare protocol server in a bench has no events).
    if (this.deps.events) for (const c of changes ?? []) this.pushes.changed(c, [...c.types].filter((t) => this.states.get(t)?.requested));
    this.schedule();
  }

  private delivered(p: OpenPush): void {
    const events = this.deps.events;
    if (!events?.wantsPushes || this.closed) return;
    const workload = this.handle.workload;
    events.push({
      nodeId: this.node.id,
      ...(workload ? { workload } : {}),
      cause: p.change.cause,
      types: [...p.change.types],
      responses: p.responses,
      changedAt: p.change.at,
      answeredAt: p.answeredAt ?? performance.now(),
    });
  }

  /**
   * Coalesces everything up to the next event-loop turn (requests read in one
   * chunk, a cache change spread over several calls) into one pump, so that
   * related changes of several types are ordered against each other.
   */
  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.closed) return;
      try {
        this.pump();
      } catch (err) {
        this.fail(err);
      }
    });
  }

  private pump(): void {
    // A later pass only matters when a pass settled types without sending, which
    // may release a withheld removal (push-order.ts).
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      let progress = false;
      const inFlight = new Set<string>();
      for (const st of this.ordered) if (st.inFlight) inFlight.add(st.typeUrl);
      for (const st of this.ordered) {
        if (!st.requested || st.inFlight || !(st.dirty || st.held) || waitsFor(st.typeUrl, inFlight)) continue;
        progress ||= st.dirty;
        st.dirty = false;
        const bytes = this.plan(st);
        if (!bytes) {
          if (!st.held) this.pushes.unneeded(st.typeUrl);
          continue;
        }
        st.inFlight = true;
        inFlight.add(st.typeUrl);
        this.bytesPushed += bytes.length;
        this.sink.send(bytes);
        this.pushes.sent(st.typeUrl, st.versionSent!, st.nonceSent!, st.held);
        progress = true;
      }
      if (!progress || this.closed) return;
    }
  }

  private fail(err: unknown): void {
    const { code, details } = statusOf(err);
    if (!(err instanceof ProtocolError)) this.deps.log(`xds: ${this.describe()} failed: ${(err as Error)?.stack ?? err}`);
    this.sink.fail(code, details);
    this.close();
  }
}
