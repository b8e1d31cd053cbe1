// Benchmark: time-to-direct with a real Envoy sidecar, state-of-the-world and
// delta ADS. One caller calls N services it has never called, one at a time;
// each first call goes through the in-process lazy gateway, the analyzer
// learns the edge and the xDS server pushes the caller's widened scope.
// Time-to-direct = the gateway's record of that first call (where it was
// received) → the caller's Envoy ACKing the push that carries the service.
// Also printed: the same from the client's send, and the push alone
// (scope change → ACK).
//
//   node --import tsx bench/time-to-direct.ts [--services 100] [--mode sotw|delta|both]
//
// Target (printed with the figures): p99 ≤ 50 ms, SotW and delta.
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { startAnalyzer } from '../analyzer/app.ts';
import { ensureEnvoy } from '../install/envoy.ts';
import { Sidecar } from '../demo/sidecars.ts';
import { TimeToDirect } from '../demo/time-to-direct.ts';
import type { PushEvent } from '../xds-server/index.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({ options: { services: { type: 'string', default: '100' }, mode: { type: 'string', default: 'both' } } });
const N = Number(values.services);
const MODES = values.mode === 'both' ? [false, true] : [values.mode === 'delta'];
const TARGET_P99_MS = 50;
const SUBNET = '127.0.91';
const CALLER = { service: 'caller', id: 'caller-0.default', address: `${SUBNET}.250`, calls: [] };
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

async function backends(): Promise<{ servers: http.Server[]; services: unknown[] }> {
  const servers: http.Server[] = [];
  const services: unknown[] = [{ name: 'caller', ports: [], workloads: [{ name: 'caller-0', address: CALLER.address }] }];
  for (let i = 0; i < N; i++) {
    const address = `127.0.${92 + Math.floor(i / 250)}.${(i % 250) + 1}`;
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, address, r));
    servers.push(server);
    const port = (server.address() as { port: number }).port;
    services.push({ name: `svc-${i}`, ports: [{ port: 8080, targetPort: port, protocol: 'http' }], workloads: [{ name: `svc-${i}-0`, address }] });
  }
  return { servers, services };
}

function call(egress: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: CALLER.address, port: egress, path: '/', headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${host}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function runMode(delta: boolean, services: unknown[], envoy: string): Promise<Record<string, number[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'meshscope-bench-ttd-'));
  const mesh = join(dir, 'mesh.yaml');
  writeFileSync(mesh, YAML.stringify({ apiVersion: 'meshscope/v1', kind: 'Mesh', services }));
  const run = await startAnalyzer({ mesh, data: join(dir, 'data'), gatewayPort: 0 });
  const ttd = new TimeToDirect();
  const clientSide: number[] = [];
  const pushOnly: number[] = [];
  let waiting: { t0: number; resolve: () => void } | undefined;
  const onEdge = (e: { kind: string; source: string; dest: string; firstSeen: string }) => e.kind === 'service' && ttd.learnt(e.source, e.dest, e.firstSeen);
  run.analyzer.on('edge', onEdge);
  const unsubscribe = run.xds.onPush((e: PushEvent) => {
    if (e.workload !== CALLER.id) return;
    const made = ttd.pushed(e, 'caller.default');
    if (made.length === 0 || !waiting) return;
    clientSide.push(e.answeredAt - waiting.t0);
    pushOnly.push(made[0].pushMs);
    waiting.resolve();
  });
  const egress = 15001;
  const sidecar = await Sidecar.start({ ...CALLER, port: undefined }, { envoy, dir, xds: { host: '127.0.0.1', port: run.xdsPort }, delta });
  try {
    for (const deadline = Date.now() + 30_000; !(await fetch(`${sidecar.adminUrl}/ready`).then((r) => r.ok, () => false)); ) {
      if (Date.now() > deadline) throw new Error(`Envoy not ready; log ${sidecar.logFile}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < N; i++) {
      const acked = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`svc-${i}: no ACKed scope push within 10 s`)), 10_000);
        waiting = { t0: performance.now(), resolve: () => (clearTimeout(timer), resolve()) };
      });
      await call(egress, `svc-${i}:8080`);
      await acked;
      waiting = undefined;
    }
    return { 'first call at the gateway → ACK': ttd.samples, 'client send → ACK': clientSide, 'scope change → ACK': pushOnly };
  } finally {
    unsubscribe();
    run.analyzer.off('edge', onEdge);
    await sidecar.stop();
    await run.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const envoy = await ensureEnvoy();
const { servers, services } = await backends();
let ok = true;
try {
  for (const delta of MODES) {
    log(`${delta ? 'delta' : 'SotW'}: ${N} first calls, one at a time`);
    const figures = await runMode(delta, services, envoy);
    for (const [what, xs] of Object.entries(figures)) {
      const line = `${delta ? 'delta' : 'SotW '}  ${what.padEnd(32)} p50 ${percentile(xs, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(xs, 99).toFixed(1).padStart(6)} ms  (n=${xs.length})`;
      process.stdout.write(`${line}\n`);
    }
    const p99 = percentile(figures['first call at the gateway → ACK'], 99);
    if (p99 > TARGET_P99_MS) ok = false;
  }
  process.stdout.write(`target: time-to-direct p99 ≤ ${TARGET_P99_MS} ms: ${ok ? 'met' : 'NOT met'}\n`);
} finally {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
}
