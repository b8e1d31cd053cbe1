// `meshscope demo`: the whole loop in one process on loopback. The analyzer,
// its xDS server and lazy gateway on the embedded defaults; Online Boutique's
// services as small real servers, each behind a real Envoy sidecar
// bootstrapped against that xDS server; a load generator driving the front
// end. Started in that order and stopped in reverse, so nothing outlives it.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../analyzer/activity-log.ts';
import { startAnalyzer, type RunningAnalyzer } from '../analyzer/app.ts';
import { ensureEnvoy } from '../install/envoy.ts';
import { startApp, type App } from './apps.ts';
import { LoadGenerator } from './loadgen.ts';
import { demoMesh, type DemoMesh } from './mesh.ts';
import { Narrator } from './narrator.ts';
import { EGRESS_PORT, Sidecar } from './sidecars.ts';

export interface DemoOptions {
  /** First three octets of the loopback /24 the workloads use, e.g. 127.0.10. */
  subnet: string;
  httpPort: number;
  alsPort: number;
  xdsPort: number;
  gatewayPort: number;
  gatewayAdminPort: number;
  delta: boolean;
  /** Front-end requests per second. */
  rate: number;
  /** Where the graph, mesh.yaml and Envoy logs go; default a temporary folder removed on close. */
  data?: string;
  out: (line: string) => void;
  /** The analyzer's structured log (pino, on stderr); the demo's own lines go to `out`. */
  logger: Logger;
}

export interface RunningDemo {
  url: string;
  mesh: DemoMesh;
  analyzer: RunningAnalyzer;
  sidecars: Sidecar[];
  narrator: Narrator;
  load: LoadGenerator;
  close(): Promise<void>;
}

export async function startDemo(opts: DemoOptions): Promise<RunningDemo> {
  const cleanup: Array<() => unknown> = [];
  const undo = async () => {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch((err: Error) => opts.logger.error(`demo: stopping: ${err.message}`));
  };
  try {
    const envoy = await ensureEnvoy();
    const dir = opts.data ?? mkdtempSync(join(tmpdir(), 'meshscope-demo-'));
    if (opts.data) mkdirSync(dir, { recursive: true });
    else cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const mesh = demoMesh(opts.subnet);
    const meshFile = join(dir, 'mesh.yaml');
    writeFileSync(meshFile, mesh.yaml);

    const analyzer = await startAnalyzer({
      mesh: meshFile,
      data: join(dir, 'data'),
      host: '127.0.0.1',
      httpPort: opts.httpPort,
      alsPort: opts.alsPort,
      xdsPort: opts.xdsPort,
      gatewayPort: opts.gatewayPort,
      gatewayAdminPort: opts.gatewayAdminPort,
      logger: opts.logger,
    });
    cleanup.push(() => analyzer.close());
    const url = `http://127.0.0.1:${analyzer.httpPort}/`;
    opts.out(`graph page: ${url}`);
    opts.out(`mesh: ${meshFile} (${mesh.workloads.length} workloads on ${opts.subnet}.0/24, ${mesh.edges.length} edges to learn); Envoy logs beside it`);

    const narrator = new Narrator({
      analyzer: analyzer.analyzer,
      xds: analyzer.xds,
      deployed: {
        gateway: analyzer.gateway ? { host: '127.0.0.1', port: analyzer.gateway.port } : undefined,
        accessLogService: { host: '127.0.0.1', port: analyzer.alsPort },
      },
      out: opts.out,
    });
    cleanup.push(() => narrator.stop());

    const apps: App[] = [];
    cleanup.push(() => Promise.all(apps.map((a) => a.close())));
    for (const w of mesh.workloads) if (w.port) apps.push(await startApp(w, { host: w.address, port: EGRESS_PORT }));

    const sidecars: Sidecar[] = [];
    cleanup.push(() => Promise.all(sidecars.map((s) => s.stop())));
    narrator.watch(sidecars);
    const xds = { host: '127.0.0.1', port: analyzer.xdsPort };
    await Promise.all(
      mesh.workloads.map(async (w) => sidecars.push(await Sidecar.start(w, { envoy, dir, xds, delta: opts.delta }))),
    );
    await Promise.all(sidecars.map((s) => waitReady(s)));

    const loadgenWorkload = mesh.workloads.find((w) => w.service === 'loadgenerator')!;
    const load = new LoadGenerator(loadgenWorkload, { host: loadgenWorkload.address, port: EGRESS_PORT }, (msg) => narrator.say('request failed', msg));
    load.start(opts.rate);
    cleanup.push(() => load.stop());
    narrator.say('load', `${opts.rate} requests/s to frontend from ${loadgenWorkload.id} through its sidecar`);

    let closing: Promise<void> | undefined;
    return { url, mesh, analyzer, sidecars, narrator, load, close: () => (closing ??= undo()) };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** Envoy says LIVE once its first listeners and clusters from xDS are in: only then does its egress port answer. */
async function waitReady(s: Sidecar, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${s.adminUrl}/ready`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the Envoy of ${s.workload.id} is not ready after ${timeoutMs / 1000} s; its log: ${s.logFile}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
