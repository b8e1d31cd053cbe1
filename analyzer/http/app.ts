// The analyzer's HTTP API: buildApp(deps) gives a fastify instance that tests
// drive with inject() and startAnalyzer() listens with. Each route group is a
// plugin; a plugin that acquires something releases it in onClose.
import compress from '@fastify/compress';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { MetricFamily } from '../../contracts/index.ts';
import type { HostPort } from '../../xds-server/index.ts';
import type { Logger } from '../activity-log.ts';
import type { Analyzer } from '../index.ts';
import type { IngestTarget } from '../sources/ingest-target.ts';
import { LiveBytesMeter } from './bytes/bytes-meter.ts';
import { LiveGraph } from './live-graph.ts';
import type { ProxyView, PushLatency } from './metrics/push-latency.ts';
import { diagnosticsRoutes } from './routes/diagnostics.ts';
import { graphEventRoutes } from './routes/graph-events.ts';
import { graphRoutes } from './routes/graph.ts';
import { healthRoutes } from './routes/health.ts';
import { ingestRoutes } from './routes/ingest.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { pageRoutes } from './routes/page.ts';
import { pinRoutes } from './routes/pins.ts';
import { proxiesRoutes } from './routes/proxies.ts';
import { ruleRoutes } from './routes/rules.ts';
import { servicesRoutes } from './routes/services.ts';
import { Warmer } from './warm.ts';
import { interactive } from '../sources/slices.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Warms the API's caches once listening (inject-only apps: call start() to warm). */
    warmer: Warmer;
    /** Resolves once the caches are built and the config-bytes worker has the mesh encoded; starts both if not listening yet. */
    warmed(): Promise<void>;
  }
}

export interface AppDeps {
  analyzer: Analyzer;
  /** Where POSTed records go; the analyzer itself unless a caller wraps it. */
  ingest?: IngestTarget;
  xds?: ProxyView;
  /** The lazy gateway, so config sizes count its cluster as deployed. */
  gateway?: HostPort;
  /** The access log service proxies are told, so config sizes count its cluster and log config. */
  accessLogService?: HostPort;
  /** Bearer token for pin and rule writes; unset = open. */
  adminToken?: string;
  /** Bearer token for access-log posts; unset = open. */
  ingestToken?: string;
  ingestMaxBytes?: number;
  /** Why /readyz should answer 503, or undefined when ready. */
  notReady?: () => string | undefined;
  push?: PushLatency;
  sources?: () => Record<string, number>;
  /** Families another component exports through /metrics (e.g. the Istio Sidecar writer's). */
  metricFamilies?: () => MetricFamily[];
  /** Fastify's logger (pino): the analyzer's, or none. Requests are not logged one by one (ingest posts are many). */
  logger?: Logger;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) } : { logger: false }),
    // On close, idle keep-alive connections go at once; a request in flight (a POST being ingested) finishes.
    forceCloseConnections: 'idle',
    // A misspelt filter or body key is an error, not silently ignored.
    ajv: { customOptions: { removeAdditional: false } },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'meshscope analyzer',
        version: '1',
        description: 'The dependency graph learned from access logs, the scopes it gives each proxy, and what the xDS server pushed.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'the analyzer --admin-token' },
          ingest: { type: 'http', scheme: 'bearer', description: 'the analyzer --ingest-token' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // Responses only (the ingest route decodes its own gzip bodies, streaming); gzip only:
  // brotli at its default quality costs more CPU than a 10k-service graph may take.
  await app.register(compress, { encodings: ['gzip', 'deflate'], globalDecompression: false });

  const { analyzer } = deps;
  // Requests answered here are latency-bound work: bulk ingest yields more while they come (sources/slices.ts).
  let requests = 0;
  app.addHook('onRequest', (_req, _reply, done) => {
    requests++;
    done();
  });
  const unwatch = interactive.watch(() => requests);
  app.addHook('onClose', async () => unwatch());
  // Config bytes are measured in a worker; a listening server starts it at once so the whole mesh is
  // encoded before the first figure is asked for (inject-only apps start it on first use).
  const bytes = new LiveBytesMeter(() => analyzer.inventory, { gateway: deps.gateway, accessLogService: deps.accessLogService });
  app.addHook('onClose', async () => bytes.close());
  const proxies = () => deps.xds?.proxies() ?? [];
  // The caches a first visit needs (view, graph, services list) are built in the background once listening;
  // stopped before what it reads is closed.
  const warmer = new Warmer();
  let warming: Promise<void> | undefined;
  const warmed = () => (warming ??= Promise.all([warmer.start(), bytes.warm()]).then(() => {}));
  app.addHook('onListen', async () => void warmed());
  app.addHook('onClose', async () => warmer.stop());
  app.decorate('warmer', warmer);
  app.decorate('warmed', warmed);
  // The page's live view of the graph; the app owns it and stops it on close.
  const live = new LiveGraph(analyzer).start();
  app.addHook('onClose', async () => live.close());
  await app.register(pageRoutes);
  await app.register(healthRoutes, { notReady: () => deps.notReady?.() ?? analyzer.storeHealth.problem() });
  await app.register(graphRoutes, { analyzer, live, warmer });
  await app.register(graphEventRoutes, { live });
  await app.register(servicesRoutes, { analyzer, bytes, proxies, live, warmer });
  await app.register(pinRoutes, { analyzer, adminToken: deps.adminToken });
  await app.register(ruleRoutes, { analyzer, adminToken: deps.adminToken });
  await app.register(proxiesRoutes, { analyzer, bytes, xds: deps.xds });
  await app.register(diagnosticsRoutes, { analyzer });
  const xds = deps.xds;
  await app.register(metricsRoutes, { analyzer, push: deps.push, proxyCount: xds ? () => xds.proxyCount() : undefined, sources: deps.sources, families: deps.metricFamilies });
  await app.register(ingestRoutes, { ingest: deps.ingest ?? analyzer, ingestToken: deps.ingestToken, maxBodyBytes: deps.ingestMaxBytes });
  return app;
}
