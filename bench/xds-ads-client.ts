// A minimal state-of-the-world ADS client that behaves like an Envoy sidecar
// on the wire: wildcard CDS and LDS, then EDS for the EDS clusters and RDS for
// the listeners' route names, ACKing every response at once.
import * as grpc from '@grpc/grpc-js';
import { decodeMessage } from '../contracts/envoy-proto.ts';
import { adsServiceDefinition } from '../xds-server/protocol/index.ts';
import { TypeUrl } from '../xds-server/types.ts';

const AdsClient = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');

export function now(): number {
  return performance.timeOrigin + performance.now();
}

interface TypeState {
  version?: string;
  nonce?: string;
  names: string[];
  resources: Map<string, Buffer>;
}

interface Waiter {
  done: (client: BenchAdsClient) => boolean;
  resolve: (at: number) => void;
}

function decodeName(type: string, value: Buffer, client: BenchAdsClient): string {
  switch (type) {
    case TypeUrl.Cluster: {
      const c = decodeMessage<{ name: string; type?: string }>('envoy.config.cluster.v3.Cluster', value);
      if (c.type === 'EDS') client.edsClusters.add(c.name);
      return c.name;
    }
    case TypeUrl.Listener: {
      const l = decodeMessage<any>('envoy.config.listener.v3.Listener', value);
      for (const chain of l.filter_chains ?? []) {
        for (const f of chain.filters ?? []) {
          const hcm = decodeMessage<any>(f.typed_config.type_url.split('/').pop(), f.typed_config.value);
          if (hcm.rds?.route_config_name) client.routeNames.add(hcm.rds.route_config_name);
        }
      }
      return l.name;
    }
    case TypeUrl.Endpoint:
      return decodeMessage<{ cluster_name: string }>('envoy.config.endpoint.v3.ClusterLoadAssignment', value).cluster_name;
    default:
      return decodeMessage<{ name: string }>('envoy.config.route.v3.RouteConfiguration', value).name;
  }
}

export class BenchAdsClient {
  readonly types = new Map<string, TypeState>();
  edsClusters = new Set<string>();
  routeNames = new Set<string>();
  responses = 0;
  /** Why the stream ended, if it did. */
  failed?: string;
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<unknown, any>;
  private waiters: Waiter[] = [];
  private sentNode = false;

  constructor(
    readonly nodeId: string,
    target: string,
  ) {
    // Own connection per client, as separate Envoys would have.
    this.client = new AdsClient(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    this.call = (this.client as any).StreamAggregatedResources();
    this.call.on('data', (res: any) => this.receive(res));
    this.call.on('error', (err: Error) => (this.failed = err.message));
    for (const t of [TypeUrl.Cluster, TypeUrl.Endpoint, TypeUrl.Listener, TypeUrl.Route]) this.types.set(t, { names: [], resources: new Map() });
    this.request(TypeUrl.Cluster);
    this.request(TypeUrl.Listener);
  }

  /** Resolves with the time at which `done` first holds after an ACK. */
  until(done: (client: BenchAdsClient) => boolean): Promise<number> {
    if (done(this)) return Promise.resolve(now());
    return new Promise((resolve) => this.waiters.push({ done, resolve }));
  }

  /** Every type answered and ACKed, EDS and RDS holding what CDS and LDS point at. */
  get settled(): boolean {
    const answered = (t: string) => this.types.get(t)!.version !== undefined;
    const eds = this.types.get(TypeUrl.Endpoint)!.resources;
    const rds = this.types.get(TypeUrl.Route)!.resources;
    return (
      answered(TypeUrl.Cluster) &&
      answered(TypeUrl.Listener) &&
      (this.edsClusters.size === 0 || answered(TypeUrl.Endpoint)) &&
      (this.routeNames.size === 0 || answered(TypeUrl.Route)) &&
      eds.size === this.edsClusters.size &&
      [...this.edsClusters].every((n) => eds.has(n)) &&
      [...this.routeNames].every((n) => rds.has(n))
    );
  }

  close(): void {
    this.call.end();
    this.client.close();
  }

  private request(type: string): void {
    const st = this.types.get(type)!;
    const req: Record<string, unknown> = { type_url: type, resource_names: st.names };
    if (st.version !== undefined) req.version_info = st.version;
    if (st.nonce !== undefined) req.response_nonce = st.nonce;
    if (!this.sentNode) {
      req.node = { id: this.nodeId, user_agent_name: 'envoy' };
      this.sentNode = true;
    }
    this.call.write(req);
  }

  private receive(res: { type_url: string; version_info: string; nonce: string; resources?: { type_url: string; value: Buffer }[] }): void {
    this.responses++;
    const st = this.types.get(res.type_url);
    if (!st) return;
    if (res.type_url === TypeUrl.Cluster) this.edsClusters = new Set();
    if (res.type_url === TypeUrl.Listener) this.routeNames = new Set();
    st.resources = new Map((res.resources ?? []).map((r) => [decodeName(res.type_url, r.value, this), r.value]));
    st.version = res.version_info;
    st.nonce = res.nonce;
    this.request(res.type_url); // ACK
    if (res.type_url === TypeUrl.Cluster) this.follow(TypeUrl.Endpoint, this.edsClusters);
    if (res.type_url === TypeUrl.Listener) this.follow(TypeUrl.Route, this.routeNames);
    const at = now();
    this.waiters = this.waiters.filter((w) => (w.done(this) ? (w.resolve(at), false) : true));
  }

  /** Subscribes the dependent type to exactly `names`, as Envoy does after a CDS or LDS update. */
  private follow(type: string, names: ReadonlySet<string>): void {
    const st = this.types.get(type)!;
    const next = [...names].sort();
    if (next.length === st.names.length && next.every((n, i) => n === st.names[i])) return;
    st.names = next;
    if (next.length > 0 || st.version !== undefined) this.request(type);
  }
}
