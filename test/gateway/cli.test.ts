// `meshscope gateway`: flags, input errors, live mesh edits, reporting to an analyzer, clean stop.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { command } from '../../lazy-gateway/cli.ts';
import { waitUntil } from '../harness/wait.ts';
import { h1Replicas, h1Request, meshYaml, type MeshService } from './helpers.ts';

const child = fileURLToPath(new URL('./cli-child.ts', import.meta.url));

function runChild(args: string[]) {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  proc.stdout.on('data', (d) => (out.stdout += d));
  proc.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, out, exited };
}

test('--help prints the usage; bad input exits 2 naming the flag and the fix', async () => {
  assert.match(command.usage, /Usage: meshscope gateway --mesh FILE/);
  for (const flag of ['--kafka', '--analyzer', '--timeout', '--admin-port', '--trusted-proxies', '--host', '--connect-timeout', '--max-connections', '--outlier-failures']) assert.ok(command.usage.includes(flag), flag);
  const cases: Array<[string[], RegExp]> = [
    [[], /--mesh FILE is required/],
    [['--mesh', '/nonexistent/mesh.yaml'], /\/nonexistent\/mesh\.yaml: cannot read the mesh inventory/],
    [['--mesh', 'x.yaml', '--port', 'abc'], /--port "abc": expected a port number 0-65535/],
    [['--mesh', 'x.yaml', '--kafka', 'a:1', '--analyzer', 'http://b'], /--kafka or --analyzer, not both/],
    [['--mesh', 'x.yaml', '--bogus'], /Unknown option '--bogus'/],
    [['--mesh', 'x.yaml', '--connect-timeout', '0'], /--connect-timeout 0: give the time in ms/],
    [['--mesh', 'x.yaml', '--outlier-max-percent', '101'], /--outlier-max-percent "101": expected a whole number from 0 to 100/],
    [['--mesh', 'x.yaml', '--trusted-proxies', '10.0.0.0/33'], /--trusted-proxies: trusted proxy "10\.0\.0\.0\/33": expected an IPv4 or IPv6 CIDR/],
  ];
  for (const [args, message] of cases) {
    const c = runChild(args);
    assert.equal(await c.exited, 2, args.join(' '));
    assert.match(c.out.stderr, message);
  }
  const help = runChild(['--help']);
  assert.equal(await help.exited, 0);
  assert.match(help.out.stdout, /Usage: meshscope gateway/);
});

test('runs from a mesh file, applies edits live, reports to an analyzer, stops cleanly on SIGTERM', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-gateway-cli-'));
  const [backend, other] = await h1Replicas(['127.0.0.121', '127.0.0.122']);
  const records: string[] = [];
  const analyzer = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      records.push(...body.split('\n').filter(Boolean));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => analyzer.listen(0, '127.0.0.1', r));
  const mesh = path.join(dir, 'mesh.yaml');
  const first: MeshService[] = [{ name: 'alpha', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'alpha-1', address: backend.address }] }];
  fs.writeFileSync(mesh, meshYaml(first));
  const c = runChild(['--mesh', mesh, '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--analyzer', `http://127.0.0.1:${(analyzer.address() as AddressInfo).port}`]);
  try {
    await waitUntil(() => /listening on/.test(c.out.stderr), 'the gateway to announce its ports', 20_000, {
      abort: () => (c.proc.exitCode !== null ? `exited: ${c.out.stderr}` : undefined),
    });
    const [, port, admin] = /listening on 127\.0\.0\.1:(\d+) \(admin (\d+)\)/.exec(c.out.stderr)!;
    assert.match(c.out.stderr, /loopback only: .*pass --host 0\.0\.0\.0 in a cluster/);
    assert.match(c.out.stderr, /identity headers believed from 127\.0\.0\.0\/8, ::1\/128/);
    assert.equal((await h1Request(Number(port), { host: 'alpha' })).status, 200);
    assert.equal((await h1Request(Number(port), { host: 'beta' })).status, 404);
    // Add a service: the running gateway picks it up without a restart.
    fs.writeFileSync(mesh, meshYaml([...first, { name: 'beta', ports: [{ port: 80, targetPort: backend.port }], workloads: [{ name: 'beta-1', address: other.address }] }]));
    await waitUntil(async () => (await h1Request(Number(port), { host: 'beta', path: '/beta' })).status === 200, 'the edited mesh to route beta');
    // A broken edit keeps the last good inventory.
    fs.writeFileSync(mesh, 'services: [oops');
    await waitUntil(() => /keeping the last good version/.test(c.out.stderr), 'the gateway to reject the broken edit');
    assert.equal((await h1Request(Number(port), { host: 'beta' })).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${admin}/healthz`)).status, 200);
    await waitUntil(() => records.some((r) => JSON.parse(r).path === '/beta'), 'the analyzer to receive the beta record');
    c.proc.kill('SIGTERM');
    assert.equal(await c.exited, 0);
    assert.match(c.out.stderr, /stopped \(\d+ records reported, 0 dropped\)/);
  } finally {
    c.proc.kill('SIGKILL');
    analyzer.close();
    await backend.close();
    await other.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
