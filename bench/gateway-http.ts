// Benchmark: requests per second and latency of the same backend reached
// directly, through the lazy gateway, and through nginx as a reverse proxy,
// all measured with wrk in one run.
//
//   node --import tsx bench/gateway-http.ts [--duration 8] [--connections 64]
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

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '8' }, connections: { type: 'string', default: '64' }, 'latency-connections': { type: 'string', default: '1' } },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const LATENCY_CONNECTIONS = Number(values['latency-connections']);
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

interface WrkResult {
  rps: number;
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
      const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
      const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
      const errors = /(Non-2xx.*|Socket errors.*)/.exec(out)?.[1] ?? '';
      resolve({ rps, p50, p99, errors });
    });
  });
}

async function main(): Promise<void> {
  need('wrk', 'apt-get install -y wrk');
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
  const targets = [
    { name: 'direct', url: `http://${BACKEND_ADDRESS}:${backend.port}/api/item`, host: `${BACKEND_ADDRESS}:${backend.port}` },
    { name: 'gateway', url: `http://127.0.0.1:${gateway.port}/api/item`, host: 'bench:8080' },
    { name: 'nginx', url: `http://127.0.0.1:${nginx.port}/api/item`, host: 'bench:8080' },
  ];
  const results: Record<string, { throughput: WrkResult; latency: WrkResult }> = {};
  try {
    for (const t of targets) {
      log(`${t.name}: warm-up`);
      await wrk(t.url, t.host, CONNECTIONS, 2);
      log(`${t.name}: throughput, ${CONNECTIONS} connections, ${DURATION} s`);
      const throughput = await wrk(t.url, t.host, CONNECTIONS, DURATION);
      log(`${t.name}: latency, ${LATENCY_CONNECTIONS} connection(s), ${DURATION} s`);
      const latency = await wrk(t.url, t.host, LATENCY_CONNECTIONS, DURATION);
      results[t.name] = { throughput, latency };
      if (throughput.errors || latency.errors) log(`${t.name}: ${throughput.errors} ${latency.errors}`);
    }
  } finally {
    await gateway.close();
    nginx.proc.kill('SIGQUIT');
    backend.proc.kill('SIGTERM');
    fs.rmSync(nginx.dir, { recursive: true, force: true });
  }
  const f = (n: number, d = 3) => n.toFixed(d);
  console.log(`\nmeshscope gateway benchmark (wrk, keep-alive, ${os.cpus().length} CPUs, node ${process.version})`);
  console.log(`target         req/s (c=${CONNECTIONS})   p50 ms (c=${LATENCY_CONNECTIONS})   p99 ms (c=${LATENCY_CONNECTIONS})   p50 ms (c=${CONNECTIONS})   p99 ms (c=${CONNECTIONS})`);
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `${name.padEnd(14)} ${f(r.throughput.rps, 0).padStart(14)}   ${f(r.latency.p50).padStart(12)}   ${f(r.latency.p99).padStart(12)}   ${f(r.throughput.p50).padStart(12)}   ${f(r.throughput.p99).padStart(12)}`,
    );
  }
  const d = results.direct;
  const g = results.gateway;
  const n = results.nginx;
  const addedP50 = g.latency.p50 - d.latency.p50;
  const addedP99 = g.latency.p99 - d.latency.p99;
  const share = g.throughput.rps / n.throughput.rps;
  console.log(`\ngateway added latency (c=${LATENCY_CONNECTIONS}): p50 ${f(addedP50)} ms (target ≤ 0.5) ${addedP50 <= 0.5 ? 'OK' : 'MISSED'}; p99 ${f(addedP99)} ms (target ≤ 3) ${addedP99 <= 3 ? 'OK' : 'MISSED'}`);
  console.log(`nginx added latency   (c=${LATENCY_CONNECTIONS}): p50 ${f(n.latency.p50 - d.latency.p50)} ms; p99 ${f(n.latency.p99 - d.latency.p99)} ms`);
  console.log(`gateway throughput: ${(share * 100).toFixed(0)}% of nginx (target ≥ 60%) ${share >= 0.6 ? 'OK' : 'MISSED'}`);
  console.log(`access-log records reported during the run: ${reported} (dropped ${gateway.reporter.stats().dropped})`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
