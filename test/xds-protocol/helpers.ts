// Test collaborators for the protocol engine: a tiny mutable XdsCache (the
// engine's seam, not an external component) and a raw ADS client on real
// grpc-js, built from the same service definition as the server.
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage, TYPE_PREFIX } from '../../contracts/envoy-proto.ts';
import { adsServiceDefinition } from '../../xds-server/protocol/index.ts';
import { startXdsGrpcServer, type XdsGrpcServer } from '../../xds-server/grpc-server.ts';
import { TypeUrl, type EncodedResource, type NodeHandle, type XdsCache, type XdsNode } from '../../xds-server/types.ts';

export { TypeUrl };
export const CDS = TypeUrl.Cluster;
export const EDS = TypeUrl.Endpoint;
export const LDS = TypeUrl.Listener;
export const RDS = TypeUrl.Route;

// Each resource carries its version inside its bytes too, so a test can see
// which version of a resource a SotW response delivered.
const BUILD: Record<TypeUrl, (name: string, version: string) => [string, Record<string, unknown>]> = {
  [LDS]: (name, v) => ['envoy.config.listener.v3.Listener', { name, stat_prefix: v }],
  [RDS]: (name, v) => ['envoy.config.route.v3.RouteConfiguration', { name, internal_only_headers: [v] }],
  [CDS]: (name, v) => ['envoy.config.cluster.v3.Cluster', { name, alt_stat_name: v }],
  [EDS]: (name, v) => ['envoy.config.endpoint.v3.ClusterLoadAssignment', { cluster_name: name, named_endpoints: { [v]: {} } }],
};

export function resource(type: TypeUrl, name: string, version: string): EncodedResource {
  const [msg, value] = BUILD[type](name, version);
  return { name, version, any: { type_url: TYPE_PREFIX + msg, value: encodeMessage(msg, value) } };
}

/** name → version of the resources in a SotW response, read from the resource bytes. */
export function contents(resp: SotwResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const any of resp.resources ?? []) {
    const msg = decodeMessage<Record<string, any>>(any.type_url.slice(TYPE_PREFIX.length), any.value);
    const name = msg.name ?? msg.cluster_name;
    out[name] = msg.stat_prefix ?? msg.alt_stat_name ?? msg.internal_only_headers?.[0] ?? Object.keys(msg.named_endpoints ?? {})[0];
  }
  return out;
}

/** Every node sees the same resources; tests mutate them and commit() to notify. */
export class TinyCache implements XdsCache {
  private readonly data = new Map<TypeUrl, ReadonlyMap<string, EncodedResource>>();
  private pending = new Set<TypeUrl>();
  private readonly listeners = new Set<(types: ReadonlySet<TypeUrl>) => void>();
  readonly subscribedCalls: { node: string; type: TypeUrl; names: string[] }[] = [];
  readonly attached: XdsNode[] = [];
  readonly detached: string[] = [];

  put(type: TypeUrl, name: string | string[], version = 'v1'): this {
    const next = new Map(this.data.get(type));
    for (const n of Array.isArray(name) ? name : [name]) next.set(n, resource(type, n, version));
    this.data.set(type, next);
    this.pending.add(type);
    return this;
  }

  del(type: TypeUrl, name: string): this {
    const next = new Map(this.data.get(type));
    next.delete(name);
    this.data.set(type, next);
    this.pending.add(type);
    return this;
  }

  /** Tells every attached node which types changed, in one notification. */
  commit(): void {
    const types = this.pending;
    this.pending = new Set();
    for (const l of this.listeners) l(types);
  }

  attach(node: XdsNode): NodeHandle {
    this.attached.push(node);
    const cache = this;
    let listener: ((types: ReadonlySet<TypeUrl>) => void) | undefined;
    return {
      resources: (type) => cache.data.get(type) ?? new Map(),
      onChange(l) {
        listener = l;
        cache.listeners.add(l);
        return () => cache.listeners.delete(l);
      },
      subscribed: (type, names) => cache.subscribedCalls.push({ node: node.id, type, names: [...names].sort() }),
      detach: () => {
        if (listener) cache.listeners.delete(listener);
        cache.detached.push(node.id);
      },
    };
  }
}

export interface AnyMsg {
  type_url: string;
  value: Buffer;
}
export interface SotwResponse {
  version_info?: string;
  resources?: AnyMsg[];
  type_url: string;
  nonce: string;
}
export interface DeltaResponse {
  system_version_info?: string;
  resources?: { name: string; version: string; resource?: AnyMsg }[];
  type_url: string;
  removed_resources?: string[];
  nonce: string;
}

const Client = grpc.makeClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');

/** One raw ADS stream; `next()` yields responses in arrival order. */
export class AdsStreamClient<Res> {
  private readonly received: Res[] = [];
  private waiter?: { resolve: (r: Res) => void; reject: (e: Error) => void };
  private endedWith?: grpc.StatusObject | Error;
  readonly ended: Promise<grpc.StatusObject>;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<unknown, Res>;

  constructor(port: number, method: 'StreamAggregatedResources' | 'DeltaAggregatedResources') {
    this.client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    this.call = (this.client as any)[method]();
    this.call.on('data', (r: Res) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(r);
      } else this.received.push(r);
    });
    this.ended = new Promise((resolve) => {
      this.call.on('status', (s: grpc.StatusObject) => {
        this.endedWith = s;
        this.waiter?.reject(new Error(`stream ended (${s.code}: ${s.details}) while waiting for a response`));
        resolve(s);
      });
    });
    this.call.on('error', () => {}); // the status event carries what tests check
  }

  send(req: Record<string, unknown>): void {
    this.call.write(req);
  }

  /** The next response; fails if none arrives within timeoutMs (a deadline, not a wait). */
  next(timeoutMs = 5000): Promise<Res> {
    const queued = this.received.shift();
    if (queued) return Promise.resolve(queued);
    if (this.endedWith) return Promise.reject(new Error(`stream already ended: ${JSON.stringify(this.endedWith)}`));
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  /** Responses that arrived and were not taken yet. */
  get backlog(): number {
    return this.received.length;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

export const envoyNode = (id: string) => ({ id, cluster: 'test', user_agent_name: 'envoy' });

export class SotwClient extends AdsStreamClient<SotwResponse> {
  constructor(port: number, readonly nodeId = 'node-a') {
    super(port, 'StreamAggregatedResources');
  }
  request(type: TypeUrl, names: string[] = [], extra: Record<string, unknown> = {}): void {
    this.send({ node: envoyNode(this.nodeId), type_url: type, resource_names: names, ...extra });
  }
  ack(resp: SotwResponse, names: string[] = []): void {
    this.send({ type_url: resp.type_url, version_info: resp.version_info, response_nonce: resp.nonce, resource_names: names });
  }
  nack(resp: SotwResponse, message: string, names: string[] = [], previousVersion = ''): void {
    this.send({
      type_url: resp.type_url,
      version_info: previousVersion,
      response_nonce: resp.nonce,
      resource_names: names,
      error_detail: { code: 3, message },
    });
  }
}

export class DeltaClient extends AdsStreamClient<DeltaResponse> {
  constructor(port: number, readonly nodeId = 'node-a') {
    super(port, 'DeltaAggregatedResources');
  }
  request(type: TypeUrl, fields: Record<string, unknown> = {}): void {
    this.send({ node: envoyNode(this.nodeId), type_url: type, ...fields });
  }
  ack(resp: DeltaResponse, fields: Record<string, unknown> = {}): void {
    this.send({ type_url: resp.type_url, response_nonce: resp.nonce, ...fields });
  }
  nack(resp: DeltaResponse, message: string): void {
    this.send({ type_url: resp.type_url, response_nonce: resp.nonce, error_detail: { code: 3, message } });
  }
}

/** name → version of a delta response's resources. */
export function deltaContents(resp: DeltaResponse): Record<string, string> {
  return Object.fromEntries((resp.resources ?? []).map((r) => [r.name, r.version]));
}

/** A server on port 0 over a fresh TinyCache; `done()` closes clients and server. */
export async function harness(): Promise<{
  cache: TinyCache;
  server: XdsGrpcServer;
  logs: string[];
  sotw(nodeId?: string): SotwClient;
  delta(nodeId?: string): DeltaClient;
  done(): Promise<void>;
}> {
  const cache = new TinyCache();
  const logs: string[] = [];
  const server = await startXdsGrpcServer({ cache, port: 0, log: (l) => logs.push(l) });
  const clients: AdsStreamClient<unknown>[] = [];
  const track = <C extends AdsStreamClient<any>>(c: C): C => (clients.push(c), c);
  return {
    cache,
    server,
    logs,
    sotw: (id) => track(new SotwClient(server.port, id)),
    delta: (id) => track(new DeltaClient(server.port, id)),
    done: async () => {
      for (const c of clients) c.close();
      await server.close();
    },
  };
}

/** Polls a condition every event-loop turn until it holds (deadline only for failure). */
export async function waitFor<T>(pred: () => T, what = 'condition', timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}
