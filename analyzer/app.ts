// The running analyzer: inventory watch, core (restored from SQLite), the
// Access Log Service, the in-process lazy gateway, the xDS server it directs
// (or, in Istio mode, the Sidecar writer istiod pushes from) and the HTTP API,
// started in that order and closed in reverse, so no proxy
// is served before its scope is restored, every address a proxy is told of
// (ALS, gateway) is listening before the xDS server is, and nothing ingested
// is lost on shutdown.
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { TrustedPeers, openInventorySource, type Inventory } from '../contracts/index.ts';
import type { KubernetesSourceOptions } from '../contracts/inventory/kubernetes/index.ts';
import { gatewayFqdn, istioSidecarRoutes, loadKubeConfig, sidecarMetrics, startIstioSidecars, type IstioSidecarOptions, type IstioSidecars } from '../istio-sidecars/index.ts';
import { attachCatchAllFilters, kubeEnvoyFilterApi } from '../istio-sidecars/catch-all-filter.ts';
import { istiodSyncz, TimeToDirect, timeToDirectRoutes } from '../istio-sidecars/time-to-direct.ts';
import { createXdsServer, parseHostPort, type HostPort, type XdsServer } from '../xds-server/index.ts';
import { createLogger, logActivity, type Logger } from './activity-log.ts';
import { buildApp } from './http/app.ts';
import { PushLatency } from './http/metrics/push-latency.ts';
import { makeDirs } from './core/store/make-dirs.ts';
import { checkExposure } from './exposure.ts';
import { Analyzer } from './index.ts';
import { startAlsServer, type AlsServer } from './sources/als-server.ts';
import { DEFAULT_GROUP, startKafkaSource, type KafkaSource } from './sources/kafka/source.ts';
import { startGatewayThread, type EmbeddedGateway } from './gateway-thread/start.ts';
import { interactive } from './sources/slices.ts';
import { feedObservations } from './sources/xds-observations.ts';

export interface AnalyzerOptions {
  /** The mesh.yaml inventory; or, instead, */
  mesh?: string;
  /** the inventory of a Kubernetes cluster. */
  kubernetes?: KubernetesSourceOptions;
  data: string;
  /** Address every listener binds; default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port (the default, for tests); the command passes 15090 / 15091 / 18000. */
  httpPort?: number;
  alsPort?: number;
  xdsPort?: number;
  kafka?: string[];
  topic?: string;
  group?: string;
  /** An external lazy gateway (`HOST:PORT`); with gatewayPort too, the address proxies are told (e.g. a Service in front of this one). */
  gateway?: string;
  /** Runs the lazy gateway in this process on this port (0 = any free one), reporting straight into the analyzer. */
  gatewayPort?: number;
  /** The in-process gateway's admin port (/metrics, /healthz, /readyz); default 0. */
  gatewayAdminPort?: number;
  /** The address proxies reach this process at (ALS, in-process gateway); default `host`, or 127.0.0.1 when that is a wildcard. */
  advertise?: string;
  dependencyTtlMs?: number;
  lazy?: boolean;
  adminToken?: string;
  /** Bearer token every POST /api/v1/access-logs must carry; unset = open. */
  ingestToken?: string;
  /** Largest access-log post body (default 64 MiB). */
  ingestMaxBytes?: number;
  /** Accepts listening beyond loopback with writes open (no admin or ingest token); see exposure.ts. */
  allowOpenWrites?: boolean;
  /** CIDRs whose ALS/xDS node ids and gateway identity headers are believed whatever the peer address (default loopback); see contracts/trusted-peers.ts. */
  trustedProxies?: readonly string[];
  /** Istio mode: scopes become Sidecar resources that istiod pushes; no own xDS server. */
  istio?: IstioSidecarOptions;
  /** Plain progress lines; default: `logger.info`. */
  log?: (msg: string) => void;
  /** Structured log of what happens (proxies, edges, pushes, NACKs, the HTTP server's errors); default silent. */
  logger?: Logger;
}

interface Running {
  httpPort: number;
  alsPort: number;
  /** The in-process gateway (with gatewayPort). */
  gateway?: EmbeddedGateway;
  analyzer: Analyzer;
  kafka?: KafkaSource;
  /** The process's structured logger: other parts (e.g. a Sidecar writer) log through it too. */
  logger: Logger;
  /** Stops consuming, flushes everything ingested, closes every listener and the store. */
  close(): Promise<void>;
}

export interface RunningAnalyzer extends Running {
  xdsPort: number;
  xds: XdsServer;
  /** Scope change → proxy ACK latencies. */
  push: PushLatency;
}

/** Istio mode: the Sidecar writer is the scope sink. */
export interface RunningIstioAnalyzer extends Running {
  sidecars: IstioSidecars;
}

export const DB_FILE = 'meshscope.db';

export async function startAnalyzer(opts: AnalyzerOptions & { istio?: undefined }): Promise<RunningAnalyzer>;
export async function startAnalyzer(opts: AnalyzerOptions & { istio: IstioSidecarOptions }): Promise<RunningIstioAnalyzer>;
export async function startAnalyzer(opts: AnalyzerOptions): Promise<RunningAnalyzer | RunningIstioAnalyzer>;
export async function startAnalyzer(opts: AnalyzerOptions): Promise<RunningAnalyzer | RunningIstioAnalyzer> {
  const logger = opts.logger ?? createLogger('silent');
  const log = opts.log ?? ((msg: string) => logger.info(msg));
  const host = opts.host ?? '127.0.0.1';
  checkExposure(host, opts);
  const trusted = new TrustedPeers(opts.trustedProxies);
  const advertise = advertisedAddress(opts.advertise, host);
  const external = opts.gateway ? parseHostPort(opts.gateway, '--gateway') : undefined;
  const cleanup: Array<() => unknown> = [];
  const undo = async () => {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    if (!opts.mesh && !opts.kubernetes) throw new Error('no inventory: pass --mesh FILE or --kubeconfig FILE');
    // meshscope's own pods (the gateway) are no callers: what they carry is reported for the real caller.
    const ownNamespace = opts.istio?.gateway ? [opts.istio.gateway.namespace] : [];
    const kubernetes = opts.kubernetes && { ...opts.kubernetes, excludeNamespaces: [...(opts.kubernetes.excludeNamespaces ?? []), ...ownNamespace] };
    const inventory = await openInventorySource(kubernetes ? { kubernetes } : { mesh: opts.mesh! }, log);
    cleanup.push(() => inventory.close());
    try {
      makeDirs(opts.data);
    } catch (err) {
      throw new Error(`--data ${opts.data}: cannot create the data directory (${(err as NodeJS.ErrnoException).code}); pass a writable directory`);
    }
    // Graph, pins and rules are restored and every scope computed here, before any proxy can connect.
    const analyzer = Analyzer.open({ inventory: inventory.current, db: join(opts.data, DB_FILE), dependencyTtlMs: opts.dependencyTtlMs, log });
    cleanup.push(() => analyzer.close());
    // The store's writer thread is up (a few hundred ms of its own start-up) before any traffic, not amid it.
    await analyzer.storeReady();
    const onInventory = (next: Inventory) => analyzer.setInventory(next);
    inventory.on('change', onInventory);
    cleanup.push(() => inventory.off('change', onInventory));

    // Istio's sidecars name the gateway's Service cluster; their entries through it are the gateway's to report.
    const gatewayHosts = opts.istio?.gateway ? [gatewayFqdn(opts.istio.gateway, inventory.current.clusterDomain)] : undefined;
    const als: AlsServer = await startAlsServer({ target: analyzer, port: opts.alsPort ?? 0, host, inventory: () => analyzer.inventory, gatewayHosts, trusted, log });
    cleanup.push(() => als.close());

    let gateway: EmbeddedGateway | undefined;
    if (opts.gatewayPort !== undefined) {
      // The embedded default: the gateway runs in its own thread (its calls never wait for this loop's
      // ingest) and its records come straight into the core, no transport in between.
      const embedded = await startGatewayThread({ inventory, port: opts.gatewayPort, adminPort: opts.gatewayAdminPort ?? 0, host, sink: analyzer.sink, trustedProxies: trusted.cidrs, log }).catch(
        (err: Error) => {
          // The gateway names the flags of its own command; here they are the analyzer's.
          throw new Error(`lazy gateway: ${err.message.replace('--port', '--gateway-port').replace('--admin-port', '--gateway-admin-port')}`);
        },
      );
      gateway = embedded;
      cleanup.push(() => embedded.close());
      // Its calls are latency-bound: bulk ingest on this loop (which it shares two cores with) yields more while they come.
      cleanup.push(interactive.watch(() => embedded.reported()));
    }
    const gatewayAddress: HostPort | undefined = external ?? (gateway ? { host: advertise, port: gateway.port } : undefined);

    const accessLogService: HostPort = { host: advertise, port: als.port };
    let push: PushLatency | undefined;
    let xds: XdsServer | undefined;
    let sidecars: IstioSidecars | undefined;
    let timeToDirect: TimeToDirect | undefined;
    if (opts.istio) {
      // istiod pushes; meshscope's part is the Sidecar resources, written from the restored scopes on.
      sidecars = await startIstioSidecars({ kubeconfig: opts.kubernetes?.kubeconfig, ...opts.istio, inventory, log });
      cleanup.push(() => sidecars!.close());
      if (opts.istio.gateway) {
        // Each Sidecar's catch-all EnvoyFilter (docs/istio-fallback.md), attached before the first write.
        const filters = kubeEnvoyFilterApi(loadKubeConfig(opts.istio.kubeconfig ?? opts.kubernetes?.kubeconfig));
        cleanup.push(attachCatchAllFilters(sidecars.writer, filters, opts.istio.gateway, inventory.current.clusterDomain, log));
      }
      if (opts.istio.istiod) {
        const tracker = new TimeToDirect({ syncz: istiodSyncz(opts.istio.istiod), inventory: () => analyzer.inventory, firstCall: firstCallOf(analyzer), log });
        const onApplied = (s: Parameters<TimeToDirect['applied']>[0], at: number) => void tracker.applied(s, at);
        sidecars.writer.on('applied', onApplied);
        cleanup.push(() => sidecars!.writer.off('applied', onApplied), () => tracker.close());
        // Ahead of the writer: it reads istiod's sent versions when a scope changes, before the write.
        cleanup.push(analyzer.attach(tracker));
        timeToDirect = tracker;
      }
      cleanup.push(analyzer.attach(sidecars.writer));
      sidecars.writer.start();
      analyzer.start();
    } else {
      xds = await createXdsServer({
        inventory,
        gatewayAddress,
        accessLogService,
        lazy: opts.lazy ?? true,
        port: opts.xdsPort ?? 0,
        host,
        log,
        trustedPeers: trusted,
        // Before the port is bound: every proxy's first response already holds its restored scope.
        setup: (server) => {
          push = new PushLatency(server);
          analyzer.attach(server.scope);
        },
      });
      cleanup.push(() => xds!.close());
      cleanup.push(() => push!.stop());
      analyzer.start();
      const observations = feedObservations(xds, analyzer, log);
      cleanup.push(() => observations.close());
      cleanup.push(logActivity(analyzer, xds, logger));
    }

    let kafka: KafkaSource | undefined;
    let closing: Promise<void> | undefined;
    let joined = !opts.kafka?.length;
    const app: FastifyInstance = await buildApp({
      analyzer,
      notReady: () =>
        closing ? 'shutting down' : joined ? undefined : `the Kafka consumer has not joined group ${opts.group ?? DEFAULT_GROUP} yet (is --kafka reachable?)`,
      xds,
      gateway: gatewayAddress,
      accessLogService,
      adminToken: opts.adminToken,
      ingestToken: opts.ingestToken,
      ingestMaxBytes: opts.ingestMaxBytes,
      push,
      metricFamilies: sidecars ? () => [...sidecarMetrics(sidecars!.writer), ...(timeToDirect?.metrics() ?? [])] : undefined,
      logger,
      sources: () => ({
        als_streams: als.streams().length,
        als_entries_total: als.received(),
        als_entries_skipped_total: als.skipped(),
        als_identity_refused_total: als.refused(),
        ...(xds ? { xds_identity_refused_total: xds.refusedIdentities() } : {}),
        ...(kafka ? { kafka_messages_total: kafka.stats().messages, kafka_batches_total: kafka.stats().batches } : {}),
      }),
    });
    cleanup.push(() => app.close());
    if (sidecars) await app.register(istioSidecarRoutes, { writer: sidecars.writer });
    if (timeToDirect) await app.register(timeToDirectRoutes, { tracker: timeToDirect });
    await listen(app, host, opts.httpPort ?? 0);
    const httpPort = (app.server.address() as { port: number }).port;
    if (opts.kafka?.length) {
      // Consumed once the API's caches and worker threads are warm: a backlog drained at start then
      // competes with nothing else's start-up for the CPU (/readyz says why it is not ready meanwhile).
      await app.warmed();
      kafka = await startKafkaSource({ brokers: opts.kafka, topic: opts.topic, group: opts.group, target: analyzer, log });
      cleanup.push(() => kafka!.stop());
      void kafka.joined.then(() => (joined = true));
    }
    log(`analyzer: ${analyzer.stats().edges} edges restored from ${join(opts.data, DB_FILE)}; ${inventory.current.services.length} services from ${inventory.origin}`);
    const istioGateway = opts.istio?.gateway;
    log(
      `analyzer: sidecars log to ${advertise}:${als.port}; out-of-scope calls go to ` +
        (opts.istio
          ? istioGateway
            ? `${gatewayFqdn(istioGateway, inventory.current.clusterDomain)}:${istioGateway.port} (Sidecar egressProxy)`
            : 'wherever the mesh sends unknown hosts (no --gateway-service)'
          : gatewayAddress
            ? `${gatewayAddress.host}:${gatewayAddress.port}${gateway && !external ? ' (in-process gateway)' : ''}`
            : 'no gateway (they are answered 503)'),
    );

    const running: Running = { httpPort, alsPort: als.port, gateway, analyzer, kafka, logger, close: () => (closing ??= undo()) };
    return sidecars ? { ...running, sidecars } : { ...running, xdsPort: xds!.port, xds: xds!, push: push! };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** Where proxies reach this process: a wildcard listen address is no address to dial. */
function advertisedAddress(advertise: string | undefined, host: string): string {
  if (advertise !== undefined) {
    if (isIP(advertise) === 0 && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(advertise)) {
      throw new Error(`--advertise ${JSON.stringify(advertise)}: expected the IP address or host name proxies reach this process at`);
    }
    return advertise;
  }
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

async function listen(app: FastifyInstance, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    throw new Error(`HTTP API: cannot listen on ${host}:${port} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass a free --http-port`);
  }
}

/** When any of `workloads` first called `service`: the earliest firstSeen of their workload edges. */
function firstCallOf(analyzer: Analyzer): (workloads: readonly string[], service: string) => number | undefined {
  return (workloads, service) => {
    let first: number | undefined;
    for (const e of analyzer.edges({ kind: 'workload', includeExpired: true })) {
      if (e.dest !== service || !workloads.includes(e.source)) continue;
      const t = Date.parse(e.firstSeen);
      if (!Number.isNaN(t) && (first === undefined || t < first)) first = t;
    }
    return first;
  };
}
