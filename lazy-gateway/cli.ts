// `meshscope gateway`: runs the lazy gateway until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { INVENTORY_FLAGS, INVENTORY_USAGE, UsageError, inventoryOption, portOption, wholeNumberOption } from '../cli/options.ts';
import { DEFAULT_ACCESS_LOG_TOPIC, type AccessLogSink } from '../contracts/access-log.ts';
import { openInventorySource, type InventoryOrigin, type InventorySource } from '../contracts/inventory/index.ts';
import { startGateway, type GatewayOptions } from './gateway.ts';
import { DEFAULT_OUTLIER } from './outlier.ts';
import { HttpSink } from './sinks/http.ts';
import { DEFAULT_TRUSTED_PROXIES, TrustedPeers, parseTrustedProxies } from '../contracts/trusted-peers.ts';
import { KafkaSink } from './sinks/kafka.ts';
import { StdoutSink } from './sinks/stdout.ts';

const usage = `Usage: meshscope gateway --mesh FILE | --kubeconfig FILE [options]

The lazy gateway: the fallback every proxy's catch-all route points at. It
forwards each call to the inventory service it names (HTTP/1.1 and cleartext
HTTP/2 / gRPC on one port) and reports it as an access-log record.

Options:
${INVENTORY_USAGE}
  --port N               proxy port (default 15080; 0 picks a free port)
  --admin-port N         admin port: /metrics, /healthz, /readyz (default 15081)
  --host ADDR            listen address (default 127.0.0.1: only local sidecars reach it;
                         in a cluster, where pods call it over the pod network, pass 0.0.0.0)
  --trusted-proxies CIDR,...
                         peers whose identity headers (x-meshscope-source, Istio's
                         x-forwarded-client-cert) are believed when their address is not an
                         inventory workload (default ${DEFAULT_TRUSTED_PROXIES.join(',')}: our sidecars and
                         the gateway's own Istio sidecar; 'none' believes no header). A peer
                         that is a workload is always known by its address.
  --kafka HOST:PORT,...  send records to Kafka
  --topic NAME           Kafka topic (default ${DEFAULT_ACCESS_LOG_TOPIC})
  --analyzer URL         send records to an analyzer: POST URL/api/v1/access-logs (NDJSON)
                         (without --kafka or --analyzer records go to stdout as NDJSON)
  --timeout MS           route timeout for a whole response (default 0 = none, like the
                         sidecar routes that send calls here, so streams are not cut);
                         a request's x-envoy-upstream-rq-timeout-ms overrides it
  --max-body-bytes N     largest request body forwarded (default 67108864)
  --connect-timeout MS   a connection to an endpoint not open by then fails like a refused
                         one: a request without a body goes to the next endpoint (default 2000)
  --max-connections N    HTTP/1.1 connections to one endpoint at most; more requests wait
                         (default 1024)
  --max-pending N        requests waiting for a connection to one endpoint at most; more get
                         503 upstream-overflow (default 1024)
  --outlier-failures N   consecutive failures (connect failures, resets, 5xx) that take an
                         endpoint out of rotation (default 5; 0 never ejects)
  --outlier-ejection MS  first ejection; each further one doubles, up to 300000 (default 10000)
  --outlier-max-percent N
                         share of a service's endpoints that may be ejected at once (default 50)
  --drain-ms MS          how long shutdown lets in-flight requests finish (default 10000)
  -h, --help             show this help
`;

function fail(message: string): number {
  process.stderr.write(`meshscope gateway: ${message}\nRun 'meshscope gateway --help' for usage.\n`);
  return 2;
}

async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...INVENTORY_FLAGS,
        port: { type: 'string' },
        'admin-port': { type: 'string' },
        host: { type: 'string' },
        'trusted-proxies': { type: 'string' },
        kafka: { type: 'string' },
        topic: { type: 'string' },
        analyzer: { type: 'string' },
        timeout: { type: 'string' },
        'max-body-bytes': { type: 'string' },
        'drain-ms': { type: 'string' },
        'connect-timeout': { type: 'string' },
        'max-connections': { type: 'string' },
        'max-pending': { type: 'string' },
        'outlier-failures': { type: 'string' },
        'outlier-ejection': { type: 'string' },
        'outlier-max-percent': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  let origin: InventoryOrigin;
  try {
    origin = inventoryOption(values as Parameters<typeof inventoryOption>[0]);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (values.kafka && values.analyzer) return fail('give --kafka or --analyzer, not both');
  let port: number, adminPort: number, timeoutMs: number, maxBody: number, drainMs: number;
  let trustedProxies: readonly string[] = DEFAULT_TRUSTED_PROXIES;
  let upstream: Pick<GatewayOptions, 'connectTimeoutMs' | 'maxConnectionsPerEndpoint' | 'maxPendingPerEndpoint' | 'outlier'>;
  if (values['trusted-proxies'] !== undefined) {
    trustedProxies = parseTrustedProxies(String(values['trusted-proxies']));
    try {
      new TrustedPeers(trustedProxies);
    } catch (err) {
      return fail(`--trusted-proxies: ${(err as Error).message}, or 'none'`);
    }
  }
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  try {
    port = portOption(values.port as string | undefined, '--port', 15080);
    adminPort = portOption(values['admin-port'] as string | undefined, '--admin-port', 15081);
    timeoutMs = wholeNumberOption(values.timeout as string | undefined, '--timeout', 0);
    maxBody = wholeNumberOption(values['max-body-bytes'] as string | undefined, '--max-body-bytes', 64 * 1024 * 1024);
    drainMs = wholeNumberOption(values['drain-ms'] as string | undefined, '--drain-ms', 10_000);
    const flag = (name: string) => values[name] as string | undefined;
    upstream = {
      connectTimeoutMs: wholeNumberOption(flag('connect-timeout'), '--connect-timeout', 2_000),
      maxConnectionsPerEndpoint: wholeNumberOption(flag('max-connections'), '--max-connections', 1024),
      maxPendingPerEndpoint: wholeNumberOption(flag('max-pending'), '--max-pending', 1024),
      outlier: {
        consecutiveFailures: wholeNumberOption(flag('outlier-failures'), '--outlier-failures', DEFAULT_OUTLIER.consecutiveFailures),
        baseEjectionMs: wholeNumberOption(flag('outlier-ejection'), '--outlier-ejection', DEFAULT_OUTLIER.baseEjectionMs),
        maxEjectionPercent: wholeNumberOption(flag('outlier-max-percent'), '--outlier-max-percent', DEFAULT_OUTLIER.maxEjectionPercent, 100),
      },
    };
    if (upstream.connectTimeoutMs === 0) throw new UsageError('--connect-timeout 0: give the time in ms a connection may take to open (default 2000)');
    if (upstream.maxConnectionsPerEndpoint === 0) throw new UsageError('--max-connections 0: at least one connection per endpoint is needed (default 1024)');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return fail(err.message);
  }

  let inventory: InventorySource;
  try {
    inventory = await openInventorySource(origin, (line) => process.stderr.write(`${line}\n`));
  } catch (err) {
    return fail((err as Error).message);
  }
  let sink: AccessLogSink & { close?: () => Promise<void> };
  try {
    if (values.kafka) sink = new KafkaSink({ brokers: String(values.kafka).split(',').map((b) => b.trim()), topic: values.topic as string | undefined });
    else if (values.analyzer) sink = new HttpSink(String(values.analyzer));
    else sink = new StdoutSink();
  } catch (err) {
    await inventory.close();
    return fail((err as Error).message);
  }
  let gateway;
  try {
    gateway = await startGateway({
      inventory,
      port: port as number,
      adminPort: adminPort as number,
      host,
      trustedProxies,
      sink,
      timeoutMs: timeoutMs as number,
      maxRequestBodyBytes: maxBody as number,
      drainMs: drainMs as number,
      ...upstream,
    });
  } catch (err) {
    await inventory.close();
    process.stderr.write(`meshscope gateway: ${(err as Error).message}\n`);
    return 1;
  }
  const where = values.kafka ? `Kafka ${values.kafka} topic ${values.topic ?? DEFAULT_ACCESS_LOG_TOPIC}` : values.analyzer ? `analyzer ${values.analyzer}` : 'stdout';
  process.stderr.write(
    `meshscope gateway: listening on ${host}:${gateway.port} (admin ${gateway.adminPort}); ` +
      `${inventory.current.services.length} services from ${inventory.origin}; reporting to ${where}\n` +
      (isLoopback(host)
        ? 'meshscope gateway: loopback only: sidecars on other hosts or pods cannot reach it (pass --host 0.0.0.0 in a cluster)\n'
        : '') +
      `meshscope gateway: identity headers believed from ${trustedProxies.length ? trustedProxies.join(', ') : 'no one'}; other callers are known by their address\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stderr.write('meshscope gateway: draining in-flight requests\n');
  await gateway.close();
  await inventory.close();
  await sink.close?.();
  const stats = gateway.reporter.stats();
  process.stderr.write(`meshscope gateway: stopped (${stats.sent} records reported, ${stats.dropped} dropped)\n`);
  return 0;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

export const command = {
  name: 'gateway',
  summary: 'run the lazy gateway: forward out-of-scope calls and report them',
  usage,
  run,
};
