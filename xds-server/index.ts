// meshscope's xDS server, as the other components use it: the ADS endpoint
// (grpc-server.ts) serving the scoped cache (cache/), with the scope API the
// analyzer drives, proxyless subscriptions as dependency observations,
// per-proxy status, and events for each ACK/NACK and each delivered change.
import { TrustedPeers, inventorySource, refusedIdentity, type AccessLogRecord, type Inventory, type InventorySource, type ProxyStatus, type ScopeTarget } from '../contracts/index.ts';
import { MeshCache } from './cache/mesh-cache.ts';
import { startXdsGrpcServer } from './grpc-server.ts';
import { NodeStatusRegistry, ProtocolEvents, type AnswerEvent, type PushEvent } from './protocol/index.ts';
import { parseHostPort, type HostPort } from './resources/host-port.ts';
import type { XdsNode } from './types.ts';

export { MeshCache, type MeshCacheOptions, type ObservationListener } from './cache/mesh-cache.ts';
export { measureProxyBytes, ProxyBytesMeter, type ProxyBytesOptions } from './cache/proxy-bytes.ts';
export { envoyBootstrap, envoyBootstrapYaml, grpcBootstrap, grpcBootstrapJson, type BootstrapOptions, type EnvoyBootstrapOptions } from './bootstrap.ts';
export { outboundClusterName, inboundClusterName, GATEWAY_CLUSTER, ACCESS_LOG_CLUSTER, EGRESS_LISTENER, INGRESS_LISTENER } from './resources/names.ts';
export { SIDECAR_DEFAULTS, METADATA_KEYS, type SidecarSettings } from './resources/sidecar-settings.ts';
export { parseHostPort, type HostPort } from './resources/host-port.ts';
export type { AnswerEvent, PushEvent, PushResponse } from './protocol/index.ts';
export type { ChangeCause } from './types.ts';

export interface XdsServerOptions {
  /** A source (mesh.yaml, Kubernetes) is followed: its 'change' events apply live. A plain Inventory is fixed unless setInventory() is called. */
  inventory: InventorySource | Inventory;
  /** The lazy gateway, `HOST:PORT` or parsed. Without it the catch-all route answers 503. */
  gatewayAddress?: string | HostPort;
  /** false = `--no-lazy`: every proxy gets the whole mesh. Default true. */
  lazy?: boolean;
  /**
   * The analyzer's gRPC Access Log Service, `HOST:PORT` or parsed. Envoy
   * sidecars' egress listeners then stream every request to it, so calls that
   * go direct once in scope keep their dependency alive.
   */
  accessLogService?: string | HostPort;
  /**
   * Runs once the cache exists and before the port is bound (`server.port` is
   * 0 until then). Scopes set here — the analyzer attaching — are in every
   * proxy's first response by construction, not by timing.
   */
  setup?: (server: XdsServer) => void | Promise<void>;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Noteworthy events (NACKs, refused streams); default: none. */
  log?: (line: string) => void;
  /**
   * Peers whose node ids are believed whatever their address (default
   * loopback: the embedded setup's sidecars). Any other peer must be the
   * inventory workload its node id names, or its stream ends PERMISSION_DENIED.
   */
  trustedPeers?: TrustedPeers;
}

export interface XdsServer {
  /** The bound ADS port. */
  readonly port: number;
  readonly host: string;
  /** The analyzer's handle: per-service scopes, per-workload overrides. */
  readonly scope: ScopeTarget;
  /** The cache the server serves (for measurements and tests). */
  readonly cache: MeshCache;
  /** Each proxyless `xds:///name` subscription, as an access-log record (reporter `xds`). */
  onObservation(listener: (record: AccessLogRecord) => void): () => void;
  /** Every ACK and NACK of one of our responses, as it arrives. */
  onAnswer(listener: (event: AnswerEvent) => void): () => void;
  /**
   * Each change of a node's resources (by a scope, an inventory, or its own
   * subscription), once it has reached that node: every response that carried
   * it was answered. A change that alters no node's resources emits nothing.
   */
  onPush(listener: (event: PushEvent) => void): () => void;
  /** Connected proxies, sorted by node id. */
  proxies(): ProxyStatus[];
  /** Connected proxies, counted without listing them. */
  proxyCount(): number;
  /** Streams refused because their node id contradicts their peer address. */
  refusedIdentities(): number;
  /** One proxy by node id, or by workload id (`POD.NS`). */
  proxy(id: string): ProxyStatus | undefined;
  /** Applies an inventory version now (a watched inventory does this itself). */
  setInventory(inventory: Inventory): void;
  /** Ends every stream and stops listening; stops following the inventory source (it is not closed). */
  close(): Promise<void>;
}

export async function createXdsServer(options: XdsServerOptions): Promise<XdsServer> {
  const watched = inventorySource(options.inventory);
  const initial = watched.current;
  const gateway = typeof options.gatewayAddress === 'string' ? parseHostPort(options.gatewayAddress, 'gateway address') : options.gatewayAddress;
  const accessLogService =
    typeof options.accessLogService === 'string' ? parseHostPort(options.accessLogService, 'access log service address') : options.accessLogService;
  const cache = new MeshCache({ inventory: initial, gateway, lazy: options.lazy ?? true, accessLogService });
  const status = new NodeStatusRegistry();
  const events = new ProtocolEvents(options.log);
  const host = options.host ?? '127.0.0.1';
  const onChange = (next: Inventory) => cache.setInventory(next);
  let grpc: Awaited<ReturnType<typeof startXdsGrpcServer>> | undefined;
  const trusted = options.trustedPeers ?? new TrustedPeers();
  let refused = 0;
  const admit = (node: XdsNode, peer: string): string | undefined => {
    const why = refusedIdentity(cache.inventory, trusted, peer, node.id, cache.inventory.workloadForNode(node)?.id);
    if (why) refused++;
    return why;
  };

  const server: XdsServer = {
    get port() {
      return grpc?.port ?? 0;
    },
    host,
    scope: cache.scope,
    cache,
    onObservation: (listener) => cache.onObservation(listener),
    onAnswer: (listener) => events.onAnswer(listener),
    onPush: (listener) => events.onPush(listener),
    proxies: () => status.list(),
    proxyCount: () => status.size,
    refusedIdentities: () => refused,
    proxy: (id) => status.get(id) ?? status.list().find((p) => p.workload === id),
    setInventory: (inventory) => cache.setInventory(inventory),
    close: async () => {
      watched.off('change', onChange);
      await grpc?.close();
    },
  };
  // Followed from here on, so an edit made while setup runs or the port binds is not missed.
  watched.on('change', onChange);
  try {
    await options.setup?.(server);
    grpc = await startXdsGrpcServer({ cache, port: options.port ?? 0, host, status, log: options.log, events, admit });
  } catch (err) {
    watched.off('change', onChange);
    throw err;
  }
  return server;
}
