// xDS server at scale (prints figures; not a test).
//
//   node --import tsx bench/xds-scale.ts [--n 1000,10000] [--proxies 1000]
//        [--scope 5] [--scope-changes 200] [--endpoint-changes 30] [--no-envoy]
//        [--client-procs K]
//
// 10k streams (targets: server RSS ≤ 1 GB, scope change → ACK p99 ≤ 50 ms):
//   node --import tsx bench/xds-scale.ts --n 1000 --proxies 10000 --no-envoy
//
// Per N: a synthetic mesh of N services × 10 endpoints served by the xDS
// server in a child process; P raw gRPC ADS clients (SotW, ACKing like Envoy)
// each scoped to 5 services, spread over K client processes (default one per
// 2000 streams, so the client side does not time itself). Prints per-proxy bytes scoped vs --no-lazy, time
// until all P ACKed their first config, server RSS, setScope → ACK and
// endpoint change → ACK-by-all-dependents latencies, and a real Envoy's memory
// with the scoped and with the full configuration.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ProxyBytesMeter, envoyBootstrapYaml } from '../xds-server/index.ts';
import { startEnvoy, type EnvoyProcess } from '../test/harness/envoy.ts';
import { waitUntil } from '../test/harness/wait.ts';
import { seededRandom } from './random.ts';
import { percentile } from './stats.ts';
import { now } from './xds-ads-client.ts';
import { BENCH_PORT, SyntheticMesh, serviceName } from './xds-synthetic-mesh.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000,10000' },
    proxies: { type: 'string', default: '1000' },
    scope: { type: 'string', default: '5' },
    'scope-changes': { type: 'string', default: '200' },
    'endpoint-changes': { type: 'string', default: '30' },
    'no-envoy': { type: 'boolean', default: false },
    'client-procs': { type: 'string' },
  },
});
const SIZES = values.n!.split(',').map(Number);
const P = Number(values.proxies);
const SCOPE = Number(values.scope);
const SCOPE_CHANGES = Number(values['scope-changes']);
const ENDPOINT_CHANGES = Number(values['endpoint-changes']);
const CLIENT_PROCS = Number(values['client-procs'] ?? Math.max(1, Math.ceil(P / 2000)));

const progress = (msg: string) => process.stderr.write(`[xds-scale] ${msg}\n`);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
const ms = (x: number) => `${x.toFixed(2)} ms`;

// Seeded: runs pick the same scopes and changes.
const random = seededRandom(42);

function pickScope(n: number, self: number): string[] {
  const deps = new Set<string>();
  while (deps.size < Math.min(SCOPE, n - 1)) {
    const s = random(n);
    if (s !== self) deps.add(`${serviceName(s)}.default`);
  }
  return [...deps];
}

const clusterOf = (svc: string) => `outbound|${BENCH_PORT}||${svc}.svc.cluster.local`;

/** A forked helper process; its messages are kept until asked for, so none is missed between awaits. */
class Child {
  readonly proc: ChildProcess;
  private mail: any[] = [];
  private waiters: Array<{ match: (m: any) => boolean; resolve: (m: any) => void }> = [];

  constructor(script: string, args: string[], execArgv: string[]) {
    this.proc = fork(fileURLToPath(new URL(script, import.meta.url)), args, { execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m: any) => {
      if (m.type === 'progress') return progress(`client shard: ${m.settled}/${m.of} streams settled${m.failed ? `, ${m.failed} failed (${m.why})` : ''}`);
      const w = this.waiters.findIndex((x) => x.match(m));
      if (w === -1) this.mail.push(m);
      else this.waiters.splice(w, 1)[0].resolve(m);
    });
  }

  next<T = any>(type: string, id?: number): Promise<T> {
    const match = (m: any) => m.type === type && (id === undefined || m.id === id);
    const i = this.mail.findIndex(match);
    if (i !== -1) return Promise.resolve(this.mail.splice(i, 1)[0]);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

class ServerChild extends Child {
  private seq = 0;

  constructor(n: number) {
    super('./xds-scale-server.ts', [String(n)], ['--expose-gc', '--max-old-space-size=4096']);
  }

  /** Sends a command that the child answers with `applied`; returns its t0. */
  async apply(cmd: Record<string, unknown>): Promise<{ t0: number; applyMs: number }> {
    const id = ++this.seq;
    const reply = this.next('applied', id);
    this.proc.send({ ...cmd, id });
    return reply;
  }
}

async function envoyMemory(label: string, port: number, workload: string, clusters: number): Promise<void> {
  const t0 = now();
  const envoy: EnvoyProcess = await startEnvoy({
    name: `bench-${label}`,
    bootstrapYaml: envoyBootstrapYaml({ workload, xds: { host: '127.0.0.1', port }, adminPort: 0, egressPort: 0, ingressPort: 0 }),
    logLevel: 'warn',
  });
  try {
    await envoy.waitFor(
      async () => {
        const s = await envoy.stats('');
        return (
          (s['cluster_manager.active_clusters'] ?? 0) >= clusters &&
          s['cluster_manager.warming_clusters'] === 0 &&
          (s['listener_manager.total_listeners_active'] ?? 0) >= 2 &&
          (s['http.outbound.rds.outbound.update_success'] ?? 0) >= 1
        );
      },
      `envoy (${label}) to accept ${clusters} clusters`,
      300_000,
    );
    const accepted = now() - t0;
    const mem = JSON.parse(await envoy.get('/memory')) as { allocated: string; heap_size: string };
    const rejected = Object.entries(await envoy.stats('update_rejected')).filter(([, v]) => v > 0);
    console.log(
      `  envoy ${label.padEnd(6)}: accepted in ${ms(accepted)}; memory_allocated ${mb(Number(mem.allocated))}, memory_heap_size ${mb(Number(mem.heap_size))}` +
        (rejected.length ? `; REJECTED ${JSON.stringify(rejected)}` : ''),
    );
  } finally {
    await envoy.stop();
  }
}

async function run(n: number): Promise<void> {
  console.log(`\nN = ${n} services × 10 endpoints, P = ${P} proxies, scope ${SCOPE}`);
  progress(`N=${n}: starting the xDS server`);
  const child = new ServerChild(n);
  const ready = await child.next<{ port: number; inventoryMs: number; cacheMs: number }>('ready');
  console.log(`  server start: inventory ${ms(ready.inventoryMs)}, cache + listen ${ms(ready.cacheMs)}`);
  const target = `127.0.0.1:${ready.port}`;

  // Proxy i runs for endpoint ⌊i/N⌋ of service i mod N; services share a scope.
  const proxies = Array.from({ length: P }, (_, i) => ({ service: i % n, workload: `${serviceName(i % n)}-${Math.floor(i / n)}.default` }));
  const scopes: Record<string, string[]> = {};
  for (const p of proxies) scopes[`${serviceName(p.service)}.default`] ??= pickScope(n, p.service);
  child.proc.send({ cmd: 'scopes', scopes });
  await child.next('ok');

  const meter = new ProxyBytesMeter(new SyntheticMesh(n).inventory(), { gateway: { host: '127.0.0.1', port: 15008 } });
  const bytes = meter.measure(proxies[0].workload, scopes[`${serviceName(0)}.default`]);
  console.log(
    `  per-proxy bytes: scoped ${bytes.bytesScoped} B (${bytes.clusters} clusters), --no-lazy ${bytes.bytesFull} B ` +
      `(${mb(bytes.bytesFull)}); scoped = ${((100 * bytes.bytesScoped) / bytes.bytesFull).toFixed(4)}% of full`,
  );

  progress(`N=${n}: connecting ${P} ADS clients from ${CLIENT_PROCS} processes`);
  // Proxy j lives in shard j mod K, at index ⌊j / K⌋ there.
  const shards = Array.from({ length: CLIENT_PROCS }, () => new Child('./xds-scale-clients.ts', [], ['--max-old-space-size=4096']));
  await Promise.all(shards.map((s) => s.next('ready')));
  let seq = 0;
  /** Arms every shard (or the given ones) with `command`, runs `apply`, and returns when the last client got there. */
  const measure = async (command: (shard: number) => Record<string, unknown> | undefined, apply: () => Promise<{ t0: number; applyMs: number }>) => {
    const id = ++seq;
    const armed = shards.map((s, k) => {
      const cmd = command(k);
      if (!cmd) return undefined;
      s.proc.send({ ...cmd, id });
      return s;
    }).filter((s): s is Child => s !== undefined);
    await Promise.all(armed.map((s) => s.next('armed', id)));
    const applied = await apply();
    const done = await Promise.all(armed.map((s) => s.next<{ at: number }>('done', id)));
    return { ms: Math.max(...done.map((d) => d.at)) - applied.t0, applyMs: applied.applyMs };
  };
  child.proc.send({ cmd: 'cpu' });
  const cpuBefore = await child.next<{ user: number; system: number }>('cpu');
  const t0 = now();
  shards.forEach((s, k) =>
    s.proc.send({
      cmd: 'connect',
      target,
      proxies: proxies.filter((_, j) => j % CLIENT_PROCS === k).map((p) => ({ nodeId: `sidecar~10.255.0.1~${p.workload}~default.svc.cluster.local`, service: p.service })),
    }),
  );
  const firstAck = (await Promise.all(shards.map((s) => s.next<{ acked: number[] }>('connected')))).flatMap((c) => c.acked);
  child.proc.send({ cmd: 'cpu' });
  const cpuAfter = await child.next<{ user: number; system: number }>('cpu');
  const serverCpu = (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / 1000;
  console.log(
    `  first config ACKed by all ${P}: ${ms(Math.max(...firstAck) - t0)} (p50 ${ms(percentile(firstAck, 50) - t0)}; ` +
      `server CPU ${ms(serverCpu)}, the rest is the ${P} clients sharing this machine)`,
  );
  child.proc.send({ cmd: 'rss' });
  const mem = await child.next<{ rss: number; heapUsed: number }>('rss');
  console.log(`  server RSS with ${P} streams: ${mb(mem.rss)} (heap used ${mb(mem.heapUsed)})`);

  progress(`N=${n}: ${SCOPE_CHANGES} scope changes`);
  const scopeLatency: number[] = [];
  for (let k = 0; k < SCOPE_CHANGES; k++) {
    const i = random(P);
    const service = `${serviceName(proxies[i].service)}.default`;
    const deps = pickScope(n, proxies[i].service);
    scopes[service] = deps;
    const clusters = [...deps.map(clusterOf), 'meshscope-gateway', `inbound|${BENCH_PORT}||`];
    const { ms: took } = await measure(
      () => ({ cmd: 'arm-scope', service: proxies[i].service, clusters }),
      () => child.apply({ cmd: 'setScope', service, deps }),
    );
    scopeLatency.push(took);
  }
  console.log(`  setScope → ACK: p50 ${ms(percentile(scopeLatency, 50))}, p99 ${ms(percentile(scopeLatency, 99))}, max ${ms(Math.max(...scopeLatency))}`);

  progress(`N=${n}: ${ENDPOINT_CHANGES} endpoint changes`);
  const dependents = new Map<string, number[]>();
  proxies.forEach((p, j) => {
    for (const d of scopes[`${serviceName(p.service)}.default`]) dependents.set(d, [...(dependents.get(d) ?? []), j]);
  });
  const candidates = [...dependents.keys()];
  const endpointLatency: number[] = [];
  const applyMs: number[] = [];
  let dependentCount = 0;
  for (let k = 0; k < ENDPOINT_CHANGES; k++) {
    const svc = candidates[random(candidates.length)];
    const name = clusterOf(svc);
    const deps = dependents.get(svc)!;
    dependentCount += deps.length;
    const { ms: took, applyMs: a } = await measure(
      (shard) => {
        const local = deps.filter((j) => j % CLIENT_PROCS === shard).map((j) => Math.floor(j / CLIENT_PROCS));
        return local.length ? { cmd: 'arm-endpoint', cluster: name, local } : undefined;
      },
      () => child.apply({ cmd: 'endpoint', service: Number(svc.slice(4, 9)), generation: k + 1 }),
    );
    applyMs.push(a);
    endpointLatency.push(took);
  }
  console.log(
    `  endpoint change → ACK by all dependents (avg ${(dependentCount / ENDPOINT_CHANGES).toFixed(1)}): ` +
      `p50 ${ms(percentile(endpointLatency, 50))}, p99 ${ms(percentile(endpointLatency, 99))}; of which recompute p50 ${ms(percentile(applyMs, 50))}`,
  );
  for (const s of shards) s.proc.send({ cmd: 'exit' });
  await Promise.all(shards.map((s) => once(s.proc, 'exit')));

  if (!values['no-envoy']) {
    progress(`N=${n}: real Envoy, scoped then full`);
    const workload = proxies[0].workload;
    await envoyMemory('scoped', ready.port, workload, SCOPE + 2);
    child.proc.send({ cmd: 'startFull' });
    const full = await child.next<{ port: number }>('ready-full');
    await envoyMemory('full', full.port, workload, n + 2);
  }
  child.proc.send({ cmd: 'exit' });
  await once(child.proc, 'exit');
}

for (const n of SIZES) await run(n);
