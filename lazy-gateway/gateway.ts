// Wires the gateway together: listener → proxy core → upstream pools, the
// reporter in front of the sink, and the admin port.
import type { AccessLogSink } from '../contracts/access-log.ts';
import { GATEWAY_IDLE_TIMEOUT_MS } from '../contracts/scope.ts';
import { inventorySource, type Inventory, type InventorySource } from '../contracts/inventory/index.ts';
import { startAdmin } from './admin.ts';
import { Listener } from './listener.ts';
import { Metrics } from './metrics.ts';
import { Proxy } from './proxy.ts';
import { Reporter, type ReporterOptions } from './reporter.ts';
import { H1Upstream } from './upstream-h1.ts';
import { H2Upstream } from './upstream-h2.ts';

export interface GatewayOptions {
  /** The mesh inventory; a source (mesh.yaml, Kubernetes) applies its changes live (start it yourself). */
  inventory: InventorySource | Inventory;
  /** Proxy port (HTTP/1.1 and h2c); 0 picks a free one. Default 15080. */
  port?: number;
  /** Admin port (/metrics, /healthz, /readyz); 0 picks a free one. Default 15081. */
  adminPort?: number;
  /** Listen address for both ports. Default 0.0.0.0 (pods call the gateway over the pod network). */
  host?: string;
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
  const host = options.host ?? '0.0.0.0';
  const maxHeaderBytes = options.maxHeaderBytes ?? 64 * 1024;
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const metrics = new Metrics();
  const reporter = new Reporter(options.sink ?? discard, { log, ...options.report });
  metrics.reportStats = () => reporter.stats();
  const h1 = new H1Upstream({ maxResponseHeaderBytes: maxHeaderBytes });
  const h2 = new H2Upstream({ maxResponseHeaderBytes: maxHeaderBytes });
  const proxy = new Proxy(current, h1, h2, reporter, metrics, {
    timeoutMs: options.timeoutMs ?? 0,
    maxRequestBodyBytes: options.maxRequestBodyBytes ?? 64 * 1024 * 1024,
    maxInflight: options.maxInflight ?? 10_000,
  });
  const listener = new Listener(
    { maxHeaderBytes, maxConcurrentStreams: options.maxConcurrentStreams ?? 256, keepAliveTimeoutMs: options.idleTimeoutMs ?? GATEWAY_IDLE_TIMEOUT_MS },
    (ds) => proxy.handle(ds),
  );

  // Connections to endpoints that left the inventory are closed; the rest stay warm.
  const onChange = (next: Inventory) => {
    const keys = new Set<string>();
    for (const s of next.services) for (const w of s.workloads) for (const p of s.ports) keys.add(`${w.address}:${p.targetPort}`);
    h1.retain(keys);
    h2.retain(keys);
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
