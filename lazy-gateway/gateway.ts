// Wires the gateway together: listener → proxy core → upstream pools, the
// reporter in front of the sink, and the admin port.
import type { AccessLogSink } from '../contracts/access-log.ts';
import { GATEWAY_IDLE_TIMEOUT_MS } from '../contracts/scope.ts';
import { inventorySource, type Inventory, type InventorySource } from '../contracts/inventory/index.ts';
import { startAdmin } from './admin.ts';
import { EndpointKeys } from './endpoint-keys.ts';
import { Callers } from './caller.ts';
import { Listener } from './listener.ts';
import { Metrics } from './metrics.ts';
import { DEFAULT_OUTLIER, OutlierDetector, type OutlierOptions } from './outlier.ts';
import { Proxy } from './proxy.ts';
import { Reporter, type ReporterOptions } from './reporter.ts';
import { DEFAULT_TRUSTED_PROXIES, TrustedPeers } from '../contracts/trusted-peers.ts';
import { H1Upstream } from './upstream-h1.ts';
import { H2Upstream } from './upstream-h2.ts';

export interface GatewayOptions {
  /** The mesh inventory; a source (mesh.yaml, Kubernetes) applies its changes live (start it yourself). */
  inventory: InventorySource | Inventory;
  /** Proxy port (HTTP/1.1 and h2c); 0 picks a free one. Default 15080. */
  port?: number;
  /** Admin port (/metrics, /healthz, /readyz); 0 picks a free one. Default 15081. */
  adminPort?: number;
  /**
   * Listen address for both ports. Default 127.0.0.1: the embedded setup's sidecars are local; in a
   * cluster, where pods call the gateway over the pod network, pass 0.0.0.0 (`--host`).
   */
  host?: string;
  /**
   * Peers whose identity headers (x-meshscope-source, x-forwarded-client-cert) are believed when
   * their address is not an inventory workload. Default loopback (DEFAULT_TRUSTED_PROXIES).
   */
  trustedProxies?: readonly string[];
  /** Where access-log records go; without one they are counted and discarded. */
  sink?: AccessLogSink;
  /**
   * Route timeout in ms (the whole response); x-envoy-upstream-rq-timeout-ms overrides it per request.
   * Default 0 (none): the sidecar routes that send calls here have none either, and a gRPC stream must not be cut.
   */
  timeoutMs?: number;
  maxRequestBodyBytes?: number;
  maxHeaderBytes?: number;
  /** HTTP/2 streams per caller connection. */
  maxConcurrentStreams?: number;
  maxInflight?: number;
  /** A connection to an endpoint not established by then is a connect failure, retried elsewhere. Default 2000. */
  connectTimeoutMs?: number;
  /** HTTP/1.1 connections open to one endpoint at most; further requests wait for one. Default 1024. */
  maxConnectionsPerEndpoint?: number;
  /** Requests waiting for a connection to one endpoint at most; further ones get 503. Default 1024. */
  maxPendingPerEndpoint?: number;
  /** Passive outlier ejection (DEFAULT_OUTLIER for what is not given). */
  outlier?: Partial<OutlierOptions>;
  /** Idle HTTP/1.1 keep-alive connections, and request heads that take this long, are closed. Default 65000. */
  idleTimeoutMs?: number;
  /** How long close() lets in-flight requests finish. Default 10000. */
  drainMs?: number;
  report?: ReporterOptions;
  log?: (msg: string) => void;
}

export interface Gateway {
  readonly port: number;
  readonly adminPort: number;
  readonly metrics: Metrics;
  readonly reporter: Reporter;
  /** Drains in-flight requests, flushes the report queue, closes every connection. */
  close(): Promise<void>;
}

const discard: AccessLogSink = { send: async () => undefined };

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const source = inventorySource(options.inventory);
  const current = () => source.current;
  const host = options.host ?? '127.0.0.1';
  const trusted = new TrustedPeers(options.trustedProxies ?? DEFAULT_TRUSTED_PROXIES);
  const maxHeaderBytes = options.maxHeaderBytes ?? 64 * 1024;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const metrics = new Metrics();
  const reporter = new Reporter(options.sink ?? discard, { log, ...options.report });
  metrics.reportStats = () => reporter.stats();
  const connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
  const h1 = new H1Upstream({
    maxResponseHeaderBytes: maxHeaderBytes,
    connectTimeoutMs,
    maxConnectionsPerEndpoint: options.maxConnectionsPerEndpoint ?? 1024,
    maxPendingPerEndpoint: options.maxPendingPerEndpoint ?? 1024,
  });
  const h2 = new H2Upstream({ maxResponseHeaderBytes: maxHeaderBytes, connectTimeoutMs });
  const outliers = new OutlierDetector({ ...DEFAULT_OUTLIER, ...options.outlier });
  metrics.upstreamStats = () => ({
    connectTimeouts: h1.stats.connectTimeouts + h2.stats.connectTimeouts,
    overflows: h1.stats.overflows,
    queued: h1.stats.queued(),
    ejections: outliers.stats.ejections,
    readmissions: outliers.stats.readmissions,
    ejectionsSkipped: outliers.stats.skipped,
    ejected: outliers.ejectedCount(),
  });
  const proxy = new Proxy(current, new Callers(trusted, metrics), h1, h2, outliers, reporter, metrics, {
    timeoutMs: options.timeoutMs ?? 0,
    maxRequestBodyBytes: options.maxRequestBodyBytes ?? 64 * 1024 * 1024,
    maxInflight: options.maxInflight ?? 10_000,
  });
  const listener = new Listener(
    { maxHeaderBytes, maxConcurrentStreams: options.maxConcurrentStreams ?? 256, keepAliveTimeoutMs: options.idleTimeoutMs ?? GATEWAY_IDLE_TIMEOUT_MS },
    (ds) => proxy.handle(ds),
  );

  // Connections to endpoints that left the inventory are closed; the rest stay warm.
  const endpoints = new EndpointKeys(source.current);
  const onChange = (next: Inventory, previous: Inventory) => {
    const keys = endpoints.follow(next, previous);
    h1.retain(keys);
    h2.retain(keys);
    outliers.retain(keys);
  };
  source.on('change', onChange);

  let port: number;
  try {
    port = await listener.listen(options.port ?? 15080, host);
  } catch (err) {
    await reporter.close(0);
    throw new Error(`cannot listen on ${host}:${options.port ?? 15080}: ${(err as Error).message}; pick another --port`);
  }
  let admin;
  try {
    admin = await startAdmin(options.adminPort ?? 15081, host, metrics, () => !listener.draining);
  } catch (err) {
    await listener.close(0);
    await reporter.close(0);
    throw new Error(`cannot listen on ${host}:${options.adminPort ?? 15081}: ${(err as Error).message}; pick another --admin-port`);
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    adminPort: admin.port,
    metrics,
    reporter,
    close: () =>
      (closing ??= (async () => {
        source.off('change', onChange);
        await listener.close(options.drainMs ?? 10_000);
        await Promise.all([h1.close(), h2.close()]);
        await reporter.close();
        await admin.close();
      })()),
  };
}
