// Benchmark: requests per second and latency of the same backend reached
// directly, through the lazy gateway, and through nginx as a reverse proxy,
// all measured with wrk in one run.
//
//   node --import tsx bench/gateway-http.ts [--duration 5] [--rounds 3] [--connections 64] [--latency-connections 1]
//
// Targets (printed with the figures): added p50 ≤ 0.5 ms, added p99 ≤ 3 ms,
// gateway ≥ 60% of nginx's requests per second.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Inventory, parseMesh } from '../contracts/inventory/index.ts';
import { startGateway } from '../lazy-gateway/index.ts';
import { median } from './stats.ts';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '64' }, 'latency-connections': { type: 'string', default: '1' }, rounds: { type: 'string', default: '3' } },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const LATENCY_CONNECTIONS = Number(values['latency-connections']);
const ROUNDS = Number(values.rounds);
const BACKEND_ADDRESS = '127.0.0.2';
const here = path.dirname(fileURLToPath(import.meta.url));
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

function need(cmd: string, install: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${cmd} || ls /usr/sbin/${cmd} 2>/dev/null`], { encoding: 'utf8' });
  const found = r.stdout.trim().split('\n')[0];
  if (!found) throw new Error(`${cmd} not found: install it with \`${install}\``);
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startBackend(): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'gateway-backend.ts'), BACKEND_ADDRESS, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (d) => resolve(Number(String(d).trim())));
    proc.once('exit', (code) => reject(new Error(`backend exited with ${code}`)));
  });
  return { port, proc };
}

async function startNginx(backendPort: number): Promise<{ port: number; proc: ChildProcess; dir: string }> {
  const bin = need('nginx', 'apt-get install -y nginx');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-bench-nginx-'));
  const port = await freePort();
  // One worker, like the gateway's one event loop; upstream keep-alive, buffered access log.
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/access.log combined buffer=256k flush=1s;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream backend { server ${BACKEND_ADDRESS}:${backendPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`,
  );
  const proc = spawn(bin, ['-p', dir, '-e', `${dir}/error.log`, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'inherit' });
  for (let i = 0; i < 100; i++) {
    if (await canConnect(port)) return { port, proc, dir };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on ${port}; see ${dir}/error.log`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** CPU time (user + system) a process has used, in microseconds; undefined when /proc cannot tell. */
function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  if (pid === process.pid) {
    const u = process.cpuUsage();
    return u.user + u.system;
  }
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime, stime in USER_HZ (100/s)
  } catch {
    return undefined;
  }
}

/** nginx's worker: the master's only child. */
function childOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return kids.length === 1 ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

interface WrkResult {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: string;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

function wrk(url: string, host: string, connections: number, seconds: number): Promise<WrkResult> {
  const bin = need('wrk', 'apt-get install -y wrk');
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-H', `Host: ${host}`, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${out}`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
      const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
      const errors = /(Non-2xx.*|Socket errors.*)/.exec(out)?.[1] ?? '';
      resolve({ rps, requests, p50, p99, errors });
    });
  });
}

async function main(): Promise<void> {
  need('wrk', 'apt-get install -y wrk');
  // The machine is shared: say how busy it was before we started, next to how busy it was at the end.
  const loadBefore = os.loadavg();
  const backend = await startBackend();
  log(`backend on ${BACKEND_ADDRESS}:${backend.port}`);
  const inventory = new Inventory(
    parseMesh(
      `apiVersion: meshscope/v1\nkind: Mesh\nservices:\n- name: bench\n  ports: [{port: 8080, targetPort: ${backend.port}, protocol: http}]\n  workloads: [{name: bench-1, address: ${BACKEND_ADDRESS}}]\n`,
      'bench-mesh.yaml',
    ),
  );
  let reported = 0;
  const gateway = await startGateway({
    inventory,
    port: 0,
    adminPort: 0,
    host: '127.0.0.1',
    sink: { send: async (records) => void (reported += records.length) },
    report: { capacity: 100_000 },
    log,
  });
  log(`gateway on 127.0.0.1:${gateway.port}`);
  const nginx = await startNginx(backend.port);
  log(`nginx on 127.0.0.1:${nginx.port}`);
  // CPU per request of the process in the middle (for direct: the backend itself).
  const targets = [
    { name: 'direct', url: `http://${BACKEND_ADDRESS}:${backend.port}/api/item`, host: `${BACKEND_ADDRESS}:${backend.port}`, pid: () => backend.proc.pid },
    { name: 'gateway', url: `http://127.0.0.1:${gateway.port}/api/item`, host: 'bench:8080', pid: () => process.pid },
    // Looked up when measuring: right after nginx listens, its master may not have forked the worker yet.
    { name: 'nginx', url: `http://127.0.0.1:${nginx.port}/api/item`, host: 'bench:8080', pid: () => childOf(nginx.proc.pid) },
  ];
  const results: Record<string, { throughput: WrkResult; latency: WrkResult; cpuPerRequest?: number }> = {};
  const runs: Record<string, Array<{ throughput: WrkResult; latency: WrkResult; cpuPerRequest?: number }>> = {};
  try {
    for (const t of targets) {
      log(`${t.name}: warm-up`);
      await wrk(t.url, t.host, CONNECTIONS, 2);
    }
    // Rounds interleave the targets so a burst of load from elsewhere on the
    // machine hits all three alike; each figure is the median over the rounds.
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of targets) {
        log(`round ${round}/${ROUNDS} ${t.name}: throughput (${CONNECTIONS} connections) and latency (${LATENCY_CONNECTIONS}), ${DURATION} s each`);
        const pid = t.pid();
        const cpu0 = cpuMicros(pid);
        const throughput = await wrk(t.url, t.host, CONNECTIONS, DURATION);
        const cpu1 = cpuMicros(pid);
        const latency = await wrk(t.url, t.host, LATENCY_CONNECTIONS, DURATION);
        if (throughput.errors || latency.errors) log(`${t.name}: ${throughput.errors} ${latency.errors}`);
        (runs[t.name] ??= []).push({ throughput, latency, cpuPerRequest: cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / throughput.requests });
      }
    }
    for (const [name, list] of Object.entries(runs)) {
      const med = (pick: (r: (typeof list)[number]) => number | undefined) => median(list.map(pick));
      results[name] = {
        throughput: { rps: med((r) => r.throughput.rps)!, requests: 0, p50: med((r) => r.throughput.p50)!, p99: med((r) => r.throughput.p99)!, errors: '' },
        latency: { rps: med((r) => r.latency.rps)!, requests: 0, p50: med((r) => r.latency.p50)!, p99: med((r) => r.latency.p99)!, errors: '' },
        cpuPerRequest: med((r) => r.cpuPerRequest),
      };
      log(`${name}: req/s per round ${list.map((r) => r.throughput.rps.toFixed(0)).join(', ')}; CPU µs/req per round ${list.map((r) => (r.cpuPerRequest === undefined ? 'n/a' : r.cpuPerRequest.toFixed(1))).join(', ')}`);
    }
  } finally {
    await gateway.close();
    nginx.proc.kill('SIGQUIT');
    backend.proc.kill('SIGTERM');
    fs.rmSync(nginx.dir, { recursive: true, force: true });
  }
  const f = (n: number, d = 3) => n.toFixed(d);
  console.log(`\nmeshscope gateway benchmark (wrk, keep-alive, ${os.cpus().length} CPUs, node ${process.version}; medians of ${ROUNDS} interleaved rounds)`);
  console.log(`target         req/s (c=${CONNECTIONS})   p50 ms (c=${LATENCY_CONNECTIONS})   p99 ms (c=${LATENCY_CONNECTIONS})   p50 ms (c=${CONNECTIONS})   p99 ms (c=${CONNECTIONS})   CPU µs/req*`);
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name.padEnd(14)} ${f(r.throughput.rps, 0).padStart(14)}   ${f(r.latency.p50).padStart(12)}   ${f(r.latency.p99).padStart(12)}   ${f(r.throughput.p50).padStart(12)}   ${f(r.throughput.p99).padStart(12)}   ${(r.cpuPerRequest === undefined ? 'n/a' : f(r.cpuPerRequest, 1)).padStart(10)}`,
    );
  }
  console.log('* CPU per request of the process in the middle (direct: the backend), during the throughput run');
  console.log(`machine load average before the run: ${loadBefore.map((l) => l.toFixed(2)).join(' ')}; after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const g = results.gateway;
  // Added latency is taken within each round (the proxy minus direct, measured a few seconds
  // apart) and then the median over rounds: medians taken separately can pair a calm direct
  // run with a busy proxy run, or give a negative difference.
  const added = (name: string, pick: (r: WrkResult) => number) => {
    const perRound = runs[name].map((r, i) => pick(r.latency) - pick(runs.direct[i].latency));
    return { median: median(perRound)!, range: `${f(Math.min(...perRound))}…${f(Math.max(...perRound))}` };
  };
  const gP50 = added('gateway', (r) => r.p50);
  const gP99 = added('gateway', (r) => r.p99);
  const nP50 = added('nginx', (r) => r.p50);
  const nP99 = added('nginx', (r) => r.p99);
  const addedP50 = gP50.median;
  const addedP99 = gP99.median;
  const share = g.throughput.rps / results.nginx.throughput.rps;
  const shares = runs.gateway.map((r, i) => r.throughput.rps / runs.nginx[i].throughput.rps);
  console.log(
    `\ngateway added latency (c=${LATENCY_CONNECTIONS}, median of per-round differences, range in brackets): p50 ${f(addedP50)} ms [${gP50.range}] (target ≤ 0.5) ${addedP50 <= 0.5 ? 'OK' : 'MISSED'}; p99 ${f(addedP99)} ms [${gP99.range}] (target ≤ 3) ${addedP99 <= 3 ? 'OK' : 'MISSED'}`,
  );
  console.log(`nginx added latency   (c=${LATENCY_CONNECTIONS}): p50 ${f(nP50.median)} ms [${nP50.range}]; p99 ${f(nP99.median)} ms [${nP99.range}]`);
  console.log(
    `gateway throughput: ${(share * 100).toFixed(0)}% of nginx (target ≥ 60%) ${share >= 0.6 ? 'OK' : 'MISSED'}; per round ${shares.map((x) => `${(x * 100).toFixed(0)}%`).join(', ')}`,
  );
  console.log(`access-log records reported during the run: ${reported} (dropped ${gateway.reporter.stats().dropped})`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
