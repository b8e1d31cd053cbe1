// `meshscope analyzer`: runs the analyzer and, in the same process, the xDS
// server it directs and (with --gateway-port) the lazy gateway: one process
// with SQLite, the embedded default. SIGTERM/SIGINT stop consuming, flush and
// close.
import { INVENTORY_FLAGS, INVENTORY_USAGE, UsageError, inventoryOption, logLevelOption, parseFlags, portOption } from '../cli/options.ts';
import { DEFAULT_ACCESS_LOG_TOPIC, DEFAULT_TRUSTED_PROXIES, TrustedPeers, parseTrustedProxies } from '../contracts/index.ts';
import { DEFAULT_INSTANCE, DEFAULT_PRUNE_GRACE_MS, defaultAlwaysVisible, parseAlwaysVisible, parseGatewayService, parseInstance, type IstioSidecarOptions } from '../istio-sidecars/index.ts';
import { createLogger } from './activity-log.ts';
import { startAnalyzer, type AnalyzerOptions } from './app.ts';
import { formatDuration, parseDuration } from './index.ts';
import { DEFAULT_GROUP } from './sources/kafka/source.ts';

const usage = `Usage: meshscope analyzer --mesh FILE | --kubeconfig FILE --data DIR [options]

Learns who calls whom from access logs, keeps the dependency graph in SQLite
and directs the built-in xDS server so each proxy gets only what it uses.
Sidecars it serves stream their egress access log to its ALS port, so calls
that go direct once in scope keep their dependency alive.

Required:
${INVENTORY_USAGE}
  --data DIR              where the graph is kept (SQLite); restored on start

Listeners:
  --listen ADDRESS        address every listener binds (default 127.0.0.1); beyond
                          loopback it needs --admin-token and --ingest-token, or
                          --allow-open-writes
  --http-port N           HTTP API, graph page, /metrics (default 15090)
  --als-port N            Envoy gRPC Access Log Service (default 15091; 0 = any free port)
  --xds-port N            xDS (ADS) server for Envoy and proxyless gRPC (default 18000)
  --advertise ADDRESS     the address proxies reach this process at, for its ALS
                          and in-process gateway (default: --listen, or 127.0.0.1
                          when that is 0.0.0.0)

Lazy gateway (where out-of-scope calls go):
  --gateway-port N        run the lazy gateway in this process on port N (0 = any
                          free port); its records go straight into the analyzer
  --gateway-admin-port N  its /metrics, /healthz, /readyz (default 15081)
  --gateway HOST:PORT     an external lazy gateway; with --gateway-port, the
                          address proxies are told instead of this process's

Access-log sources (HTTP POST /api/v1/access-logs and ALS are always on):
  --kafka HOST:PORT,...   consume access logs from these Kafka brokers
  --topic T               Kafka topic (default ${DEFAULT_ACCESS_LOG_TOPIC})
  --group G               Kafka consumer group (default ${DEFAULT_GROUP}); every analyzer
                          needs every record, so give each replica its own group

Istio mode (scopes become Sidecar resources; istiod pushes, no own xDS server):
  --istio                 write a networking.istio.io/v1 Sidecar per workload group
                          in the cluster of --kubeconfig (in a pod: its own; with
                          --mesh, --kubeconfig names only that cluster), by
                          server-side apply, labelled app.kubernetes.io/managed-by=
                          meshscope and app.kubernetes.io/instance=--instance;
                          Sidecars someone else owns (another instance too) are
                          left alone and reported at GET /api/v1/istio/sidecars
                          and in /metrics
  --instance NAME         this install's name, a DNS label (default ${DEFAULT_INSTANCE}; the
                          Helm chart passes its release name): it writes, changes
                          and prunes only objects labelled with it, as field
                          manager "meshscope-NAME" ("meshscope" for the default);
                          unlabelled ones from before instances are the default's
  --prune-grace D         delete a Sidecar no workload group needs only after it
                          stayed unneeded for D (default ${formatDuration(DEFAULT_PRUNE_GRACE_MS)}; 0s = at once): a
                          Recreate rollout's gap keeps its Sidecar; pending prunes
                          and their due time are in GET /api/v1/istio/sidecars
  --gateway-service NAME.NS:PORT
                          the lazy gateway's Service: calls to hosts out of a
                          workload's scope are sent there (egressProxy)
  --always-visible LIST   NS/HOST entries every Sidecar keeps, comma-separated
                          (default istio-system/* and the gateway's namespace NS/*)
  --dry-run               write nothing: log and serve the Sidecars that would be
                          written and deleted
  --istiod URL            istiod's debug endpoint (e.g. http://istiod.istio-system:15014):
                          time-to-direct is measured from its /debug/syncz and served at
                          GET /api/v1/istio/time-to-direct and in /metrics

Scoping:
  --dependency-ttl D      forget a dependency unseen for D (e.g. 7d, 12h, 30m; default 7d)
  --no-lazy               push every proxy the full mesh (scopes are still learned)

Logging:
  --log-level L           fatal|error|warn|info|debug|trace|silent (default info): JSON
                          lines on stderr for proxies connecting and going, edges
                          learnt and expired, pushes ACKed, NACKs with their message

Admin:
  --admin-token T         bearer token required for PUT/DELETE of pins and rules
                          (default: env MESHSCOPE_ADMIN_TOKEN; unset = no token needed)
  --ingest-token T        bearer token every POST /api/v1/access-logs must carry
                          (default: env MESHSCOPE_INGEST_TOKEN; unset = open)
  --allow-open-writes     listen beyond loopback without those tokens anyway
  --trusted-proxies CIDRS peers whose ALS/xDS node ids are believed even when the
                          inventory gives their address to another workload
                          (default ${DEFAULT_TRUSTED_PROXIES.join(',')}; 'none' = nobody);
                          the in-process gateway believes identity headers from them

Prints "analyzer listening: http=N als=N xds=N [gateway=N gateway-admin=N]"
(with --istio: "... als=N istio-sidecars=write|dry-run") on stdout once every
port is bound.

Examples:
  meshscope analyzer --mesh mesh.yaml --data /var/lib/meshscope --gateway-port 15080
  meshscope analyzer --mesh mesh.yaml --data /var/lib/meshscope --kafka kafka:9092 --gateway lazy-gateway:15080
  meshscope analyzer --kubeconfig ~/.kube/config --istio --data /var/lib/meshscope \\
      --gateway-service meshscope-gateway.meshscope:15080 --dry-run
  curl -s localhost:15090/api/v1/graph
`;

function duration(text: string, flag: string): number {
  try {
    return parseDuration(text, flag);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function hostPorts(text: string, flag: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const hp of list) {
    if (!/^[^:\s]+:\d{1,5}$/.test(hp) && !/^\[[0-9a-f:]+\]:\d{1,5}$/i.test(hp)) {
      throw new UsageError(`${flag}: "${hp}" is not HOST:PORT; write e.g. ${flag} 127.0.0.1:9092`);
    }
  }
  if (list.length === 0) throw new UsageError(`${flag}: give at least one HOST:PORT`);
  return list;
}

export function parseAnalyzerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): AnalyzerOptions & { logLevel: string } {
  const values = parseFlags('analyzer', argv, {
    ...INVENTORY_FLAGS,
    data: { type: 'string' },
    listen: { type: 'string' },
    'http-port': { type: 'string' },
    'als-port': { type: 'string' },
    'xds-port': { type: 'string' },
    advertise: { type: 'string' },
    'gateway-port': { type: 'string' },
    'gateway-admin-port': { type: 'string' },
    kafka: { type: 'string' },
    topic: { type: 'string' },
    group: { type: 'string' },
    gateway: { type: 'string' },
    'dependency-ttl': { type: 'string' },
    'no-lazy': { type: 'boolean' },
    'admin-token': { type: 'string' },
    'ingest-token': { type: 'string' },
    'allow-open-writes': { type: 'boolean' },
    'trusted-proxies': { type: 'string' },
    istio: { type: 'boolean' },
    'gateway-service': { type: 'string' },
    istiod: { type: 'string' },
    'always-visible': { type: 'string' },
    'dry-run': { type: 'boolean' },
    instance: { type: 'string' },
    'prune-grace': { type: 'string' },
    'log-level': { type: 'string' },
  });
  // With --istio, --mesh and --kubeconfig go together: the inventory from the file, Sidecars to that cluster.
  const sidecarCluster = values.istio && values.mesh !== undefined ? values.kubeconfig : undefined;
  const origin = inventoryOption(sidecarCluster ? { ...values, kubeconfig: undefined } : values, env);
  if (!values.data) throw new UsageError('--data DIR is required: the directory where the graph is kept');
  if ((values.topic || values.group) && !values.kafka) throw new UsageError('--topic and --group need --kafka HOST:PORT');
  if (values['gateway-admin-port'] !== undefined && values['gateway-port'] === undefined) {
    throw new UsageError('--gateway-admin-port needs --gateway-port N (the in-process gateway it belongs to)');
  }
  // `--admin-token "$TOKEN"` with TOKEN unset would otherwise leave pins and rules open to anyone.
  for (const flag of ['admin-token', 'ingest-token'] as const) {
    if (values[flag] !== undefined && values[flag].trim() === '') {
      throw new UsageError(`--${flag} is empty (an unset variable?); give the token, or leave the flag out to keep writes open`);
    }
  }
  const ingestToken = values['ingest-token'] ?? (env.MESHSCOPE_INGEST_TOKEN || undefined);
  const trusted = values['trusted-proxies'] === undefined ? undefined : parseTrustedProxies(values['trusted-proxies']);
  if (trusted) {
    try {
      new TrustedPeers(trusted);
    } catch (err) {
      throw new UsageError(`--trusted-proxies: ${(err as Error).message}, or 'none'`);
    }
  }
  const istio = istioOptions(values, sidecarCluster);
  const logLevel = logLevelOption(values['log-level'], 'info');
  const gatewayPort = values['gateway-port'] === undefined ? undefined : portOption(values['gateway-port'], '--gateway-port', 0);
  return {
    ...('mesh' in origin ? { mesh: origin.mesh } : { kubernetes: origin.kubernetes }),
    data: values.data,
    host: values.listen ?? '127.0.0.1',
    httpPort: portOption(values['http-port'], '--http-port', 15090),
    alsPort: portOption(values['als-port'], '--als-port', 15091),
    xdsPort: portOption(values['xds-port'], '--xds-port', 18000),
    kafka: values.kafka ? hostPorts(values.kafka, '--kafka') : undefined,
    topic: values.topic,
    group: values.group,
    gateway: values.gateway ? hostPorts(values.gateway, '--gateway')[0] : undefined,
    ...(gatewayPort === undefined ? {} : { gatewayPort, gatewayAdminPort: portOption(values['gateway-admin-port'], '--gateway-admin-port', 15081) }),
    ...(values.advertise === undefined ? {} : { advertise: values.advertise }),
    dependencyTtlMs: duration(values['dependency-ttl'] ?? '7d', '--dependency-ttl'),
    lazy: !values['no-lazy'],
    adminToken: values['admin-token'] ?? (env.MESHSCOPE_ADMIN_TOKEN || undefined),
    ...(ingestToken ? { ingestToken } : {}),
    ...(values['allow-open-writes'] ? { allowOpenWrites: true } : {}),
    ...(trusted !== undefined ? { trustedProxies: trusted } : {}),
    ...(istio ? { istio } : {}),
    logLevel,
  };
}

function istioOptions(values: {
  istio?: boolean;
  'gateway-service'?: string;
  istiod?: string;
  'always-visible'?: string;
  'dry-run'?: boolean;
  instance?: string;
  'prune-grace'?: string;
  'xds-port'?: string;
  'no-lazy'?: boolean;
}, kubeconfig: string | undefined): IstioSidecarOptions | undefined {
  if (!values.istio) {
    for (const flag of ['gateway-service', 'always-visible', 'dry-run', 'istiod', 'instance', 'prune-grace'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} belongs to Istio mode; add --istio`);
    }
    return undefined;
  }
  if (values['xds-port'] !== undefined || values['no-lazy']) {
    throw new UsageError('--xds-port and --no-lazy configure the own xDS server, which Istio mode does not run (istiod pushes); drop them or --istio');
  }
  try {
    const gateway = values['gateway-service'] === undefined ? undefined : parseGatewayService(values['gateway-service']);
    return {
      ...(kubeconfig ? { kubeconfig } : {}),
      dryRun: values['dry-run'] ?? false,
      instance: values.instance === undefined ? DEFAULT_INSTANCE : parseInstance(values.instance),
      pruneGraceMs: values['prune-grace'] === undefined ? DEFAULT_PRUNE_GRACE_MS : parseDuration(values['prune-grace'], '--prune-grace'),
      gateway,
      ...(values.istiod ? { istiod: parseIstiod(values.istiod) } : {}),
      alwaysVisible: values['always-visible'] === undefined ? defaultAlwaysVisible(gateway) : parseAlwaysVisible(values['always-visible']),
    };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parseIstiod(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--istiod ${text}: not a URL; pass istiod's debug endpoint, e.g. http://istiod.istio-system:15014`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--istiod ${text}: use an http(s) URL`);
  return text;
}

async function run(argv: string[]): Promise<number> {
  let opts: ReturnType<typeof parseAnalyzerArgs>;
  try {
    opts = parseAnalyzerArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`meshscope analyzer: ${err.message}\n`);
    return 2;
  }
  const logger = createLogger(opts.logLevel);
  const log = (msg: string) => logger.info(msg);
  let analyzer;
  try {
    analyzer = await startAnalyzer({ ...opts, log, logger });
  } catch (err) {
    process.stderr.write(`meshscope analyzer: ${(err as Error).message}\n`);
    return 2;
  }
  const mode = 'sidecars' in analyzer ? (analyzer.sidecars.writer.dryRun ? 'dry-run' : 'write') : undefined;
  const pusher = 'sidecars' in analyzer
    ? { log: `istio sidecars (${mode})`, out: `istio-sidecars=${mode}` }
    : { log: `xds ${analyzer.xdsPort}`, out: `xds=${analyzer.xdsPort}` };
  log(`analyzer ready: http ${analyzer.httpPort}, access log service ${analyzer.alsPort}, ${pusher.log}`);
  const gw = analyzer.gateway ? ` gateway=${analyzer.gateway.port} gateway-admin=${analyzer.gateway.adminPort}` : '';
  process.stdout.write(`analyzer listening: http=${analyzer.httpPort} als=${analyzer.alsPort} ${pusher.out}${gw}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log(`${signal}: stopping consumers, flushing the graph and closing`);
  // A second signal while closing means "now": exit without waiting.
  const force = () => process.exit(1);
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  await analyzer.close();
  log('analyzer stopped');
  return 0;
}

export const command = {
  name: 'analyzer',
  summary: 'learn the dependency graph from access logs and direct the xDS server',
  usage,
  run,
};
