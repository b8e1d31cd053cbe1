// `npm start` as a new user runs it: from a fresh clone of this commit in a
// temporary folder (with no shared/ folder beside it), with real Envoy sidecars. Within
// 60 s every edge of the demo mesh is learnt, every sidecar's /config_dump
// holds exactly its dependencies, no request fails while calls move from the
// gateway to direct, the graph page loads in real Chromium, and SIGINT stops
// every process the demo started.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { ROOT, alive, descendants, freshClone, type Clone } from '../harness/clone.ts';
import { ensureEnvoy } from '../harness/envoy.ts';
import { waitUntil } from '../harness/wait.ts';
import { decodeView } from '../../analyzer/http/view-rows.ts';

const CHROMIUM = process.env.MESHSCOPE_CHROMIUM ?? '/usr/bin/chromium';
const topology = JSON.parse(readFileSync(join(ROOT, 'fixtures/topologies/online-boutique.json'), 'utf8')) as {
  services: Array<{ name: string }>;
  edges: Array<{ from: string; to: string; port: number }>;
};
const depsOf = (svc: string) => topology.edges.filter((e) => e.from === svc).map((e) => `${e.to}.default`).sort();

describe('npm start from a fresh clone', () => {
  let clone: Clone;
  const subnet = `127.0.${100 + Math.floor(Math.random() * 100)}`;
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  let exited: Promise<number | null>;
  const lines = () => stdout.split('\n');

  before(async () => {
    await ensureEnvoy(); // the one-off install is not the demo's 60 s
    clone = await freshClone('npm-start');
    const ports = ['--http-port', '0', '--xds-port', '0', '--als-port', '0', '--gateway-port', '0', '--gateway-admin-port', '0', '--subnet', subnet];
    // A process group of its own, as a terminal's foreground job: Ctrl-C is a SIGINT to that group.
    child = spawn('npm', ['start', '--silent', '--', ...ports], { cwd: clone.dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    exited = new Promise((r) => child.once('exit', (code) => r(code)));
  });

  after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      for (const pid of descendants(child.pid!)) process.kill(pid, 'SIGKILL');
      child.kill('SIGKILL');
    }
    clone?.remove();
  });

  const dead = () => (child.exitCode !== null ? `npm start exited ${child.exitCode}\n${stdout}\n${stderr.slice(-3000)}` : undefined);
  let url = '';
  const api = async (path: string) => (await fetch(new URL(path, url))).json() as Promise<any>;

  it('prints the graph page URL first, then learns every edge and scopes every sidecar exactly within 60 s, with no failed request', async () => {
    const t0 = Date.now();
    await waitUntil(() => lines().length > 1, 'the first line', 60_000, { abort: dead });
    const first = /^graph page: (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(lines()[0]);
    assert.ok(first, `first line: ${lines()[0]}`);
    url = first[1];

    await waitUntil(
      async () => {
        const services = (await api('api/v1/services')) as Array<{ id: string; scope: string[] }>;
        return services.length === topology.services.length && services.every((s) => JSON.stringify([...s.scope].sort()) === JSON.stringify(depsOf(s.id.split('.')[0])));
      },
      'every edge of the demo mesh to be learnt',
      60_000 - (Date.now() - t0),
      { abort: dead, intervalMs: 250 },
    );

    // Each sidecar's admin URL is on its "proxy connected" line; its dynamic clusters must be exactly its dependencies.
    const admins = new Map<string, string>();
    for (const l of lines()) {
      const m = /proxy connected (\S+) \(envoy, admin (http:\/\/127\.0\.0\.1:\d+)\)/.exec(l);
      if (m) admins.set(m[1], m[2]);
    }
    assert.equal(admins.size, topology.services.length, stdout);
    const scopedExactly = async () => {
      for (const [workload, admin] of admins) {
        const dump = (await (await fetch(`${admin}/config_dump?resource=dynamic_active_clusters`)).json()) as { configs: Array<{ cluster: { name: string } }> };
        const outbound = dump.configs.map((c) => c.cluster.name).filter((n) => n.startsWith('outbound|')).map((n) => n.split('|')[3].replace('.svc.cluster.local', '')).sort();
        if (JSON.stringify(outbound) !== JSON.stringify(depsOf(workload.replace(/-0\.default$/, '')))) return false;
      }
      return true;
    };
    await waitUntil(scopedExactly, 'every sidecar to hold exactly its dependencies', Math.max(1_000, 60_000 - (Date.now() - t0)), { abort: dead, intervalMs: 250 });

    // Calls now go direct: every edge has a "calls direct" line from the caller's own Envoy counters.
    await waitUntil(() => lines().filter((l) => /calls direct {4}/.test(l)).length === topology.edges.length, 'every edge to carry direct calls', 30_000, { abort: dead });
    const failed = lines().filter((l) => /request failed/.test(l));
    assert.deepEqual(failed, [], 'no demo request failed during the switch from gateway to direct');
    assert.ok(lines().some((l) => /scope ACKed .*time-to-direct \w+ \d+ ms.*config [\d.]+ kB scoped vs [\d.]+ kB full/.test(l)), stdout);
  });

  it('serves the graph page to real Chromium, which fetches the graph of every service', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      const graph = page.waitForResponse((r) => r.url().includes('/api/v1/graph/view') && r.status() === 200);
      await page.goto(url);
      assert.match(await page.title(), /meshscope/);
      const body = await (await graph).json();
      // The page loads the view as rows (name and namespace apart); decoded as the page does.
      const view = body.encoding === 'rows' ? decodeView(body) : body;
      const ids = new Set(view.nodes.map((n: { id: string }) => n.id));
      for (const s of topology.services) assert.ok(ids.has(`${s.name}.default`), `${s.name} in the page's graph: ${[...ids].join(', ')}`);
    } finally {
      await browser.close();
    }
  });

  it('stops every process it started on SIGINT, having failed no request', async () => {
    const tree = descendants(child.pid!);
    assert.ok(tree.length >= topology.services.length + 1, `the demo's processes: ${tree.length}`);
    // Ctrl-C: SIGINT to the foreground group (npm, its shell, the demo). The Envoys run in groups of
    // their own, so only the demo can stop them, after the load.
    process.kill(-child.pid!, 'SIGINT');
    await waitUntil(() => child.exitCode !== null || child.signalCode !== null, 'npm start to exit', 30_000);
    await exited;
    await waitUntil(() => tree.every((p) => !alive(p)), 'every process the demo started to be gone', 10_000);
    const stopped = lines().find((l) => l.startsWith('stopped.'));
    assert.ok(stopped, stdout.slice(-2000));
    assert.match(stopped, /\d+ requests, 0 failed; 15\/15 edges learnt/, stdout);
  });
});
