// `meshscope demo` (`npm start`): the live loop on this machine, nothing to
// set up. SIGINT/SIGTERM stop everything it started; a second one exits at once.
import type { Command } from '../cli/command.ts';
import { UsageError, logLevelOption, parseFlags, portOption, wholeNumberOption } from '../cli/options.ts';
import { createLogger } from '../analyzer/activity-log.ts';
import { startDemo, type DemoOptions } from './demo.ts';

const usage = `Usage: meshscope demo [options]     (also: npm start)

Runs the whole meshscope loop on loopback, in this process: the analyzer with
its xDS server and lazy gateway (embedded defaults), Online Boutique's eleven
services as small real servers (HTTP/1.1 and gRPC), each behind a real Envoy
sidecar bootstrapped against the xDS server, and a load generator calling
the front end. Envoy ${'1.40'} is installed into ~/.cache/meshscope on first use.

It prints the graph page's URL, then one line per event: a proxy connected,
an edge learnt, a scope push ACKed (with its time-to-direct: first call
through the gateway → the caller's Envoy ACK, and the proxy's config size
scoped vs full), calls gone direct, and failed requests. Ctrl-C stops it all.

Options:
  --http-port N           graph page and HTTP API (default 15090; 0 = any free port)
  --xds-port N            xDS server (default 18000)
  --als-port N            access log service (default 15091)
  --gateway-port N        lazy gateway (default 15080)
  --gateway-admin-port N  the gateway's /metrics (default 15081)
  --subnet A.B.C          loopback /24 for the workloads (default 127.0.10; each
                          workload A.B.C.1.., its sidecar on ports 15001/15006)
  --delta                 sidecars use incremental (delta) ADS
  --rate N                front-end requests per second (default 5)
  --log-level L           the analyzer's JSON log on stderr: proxies, edges, pushes,
                          NACKs (default warn: NACKs and errors only; info for all)
  --data DIR              keep mesh.yaml, the graph and Envoy logs here (default:
                          a temporary folder, removed on exit; a kept graph is
                          restored next time, so nothing is left to learn)
`;

function parse(argv: string[]): Omit<DemoOptions, 'out' | 'logger'> & { logLevel: string } {
  const values = parseFlags('demo', argv, {
    'http-port': { type: 'string' },
    'xds-port': { type: 'string' },
    'als-port': { type: 'string' },
    'gateway-port': { type: 'string' },
    'gateway-admin-port': { type: 'string' },
    subnet: { type: 'string' },
    delta: { type: 'boolean' },
    rate: { type: 'string' },
    data: { type: 'string' },
    'log-level': { type: 'string' },
  });
  const subnet = values.subnet ?? '127.0.10';
  const m = /^127\.(\d{1,3})\.(\d{1,3})$/.exec(subnet);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) throw new UsageError(`--subnet ${JSON.stringify(subnet)}: expected the first three octets of a loopback /24, e.g. 127.0.10`);
  const logLevel = logLevelOption(values['log-level'], 'warn');
  const rate = wholeNumberOption(values.rate, '--rate', 5, 1000);
  if (rate === 0) throw new UsageError('--rate 0: give at least 1 request per second');
  return {
    subnet,
    httpPort: portOption(values['http-port'], '--http-port', 15090),
    xdsPort: portOption(values['xds-port'], '--xds-port', 18000),
    alsPort: portOption(values['als-port'], '--als-port', 15091),
    gatewayPort: portOption(values['gateway-port'], '--gateway-port', 15080),
    gatewayAdminPort: portOption(values['gateway-admin-port'], '--gateway-admin-port', 15081),
    delta: values.delta ?? false,
    rate,
    data: values.data,
    logLevel,
  };
}

async function run(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`meshscope demo: ${err.message}\n`);
    return 2;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const logger = createLogger(opts.logLevel);
  // A signal during start-up stops what has started so far.
  let stopRequested: NodeJS.Signals | undefined;
  const early = (sig: NodeJS.Signals) => (stopRequested = sig);
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
  let demo;
  try {
    demo = await startDemo({ ...opts, out, logger });
  } catch (err) {
    process.stderr.write(`meshscope demo: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', early);
    process.off('SIGTERM', early);
  }
  const tally = setInterval(() => {
    const s = demo.load.stats;
    demo.narrator.say('load', `${s.sent} requests, ${s.ok} ok, ${s.failed} failed; ${demo.narrator.edges.size}/${demo.mesh.edges.length} edges learnt; ${demo.narrator.ttd.summary()}`);
  }, 10_000);
  const signal =
    stopRequested ??
    (await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    }));
  clearInterval(tally);
  const force = () => process.exit(1);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  out(`${signal}: stopping the load, the sidecars, the apps and the analyzer`);
  await demo.close();
  const s = demo.load.stats;
  out(`stopped. ${s.sent} requests, ${s.failed} failed; ${demo.narrator.edges.size}/${demo.mesh.edges.length} edges learnt; ${demo.narrator.ttd.summary()}`);
  return 0;
}

export const command: Command = { name: 'demo', summary: 'the live loop on loopback: real Envoy sidecars, Online Boutique, a load generator', usage, run };
