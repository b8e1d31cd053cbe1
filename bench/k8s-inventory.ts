// The Kubernetes inventory source at scale, against a real kube-apiserver:
// writes S services / S×P pods (with IPs) / S EndpointSlices over N namespaces,
// then times the source's initial sync (lists + first inventory), its memory,
// and the cost of one endpoint change (API write → new inventory version, and
// the source's own CPU for it).
//   node --expose-gc --import tsx bench/k8s-inventory.ts [services=10000] [podsPerService=5] [namespaces=100]
import { KubernetesInventorySource } from '../contracts/inventory/kubernetes/index.ts';
import type { Inventory } from '../contracts/index.ts';
import { startApiServer, type ApiServer } from '../test/harness/k8s/apiserver.ts';
import { concurrently, createNamespace, createPod, putEndpointSlice, putService } from '../test/harness/k8s/workloads.ts';
import { median, percentile } from './stats.ts';

const S = Number(process.argv[2] ?? 10_000);
const P = Number(process.argv[3] ?? 5);
const NS = Number(process.argv[4] ?? 100);
const CONCURRENCY = 64;
const perNs = Math.ceil(S / NS);

const say = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => say('(run with --expose-gc for settled heap figures)'));

interface Svc {
  ns: string;
  name: string;
  pods: Array<{ name: string; ip: string }>;
}

function plan(): Svc[] {
  const out: Svc[] = [];
  for (let i = 0; i < S; i++) {
    const n = Math.floor(i / perNs);
    const k = i % perNs;
    const name = `svc-${String(k).padStart(4, '0')}`;
    const hash = (i * 2654435761 >>> 0).toString(16).slice(0, 8);
    out.push({
      ns: `bench-${n}`,
      name,
      // Addresses 10.(64+n).k/256.(k%256)… unique per pod: one /16 per namespace.
      pods: Array.from({ length: P }, (_, p) => ({ name: `${name}-${hash}-${p}`, ip: `10.${64 + (n % 128)}.${Math.floor((k * P + p) / 250)}.${((k * P + p) % 250) + 1}` })),
    });
  }
  return out;
}

async function write(api: ApiServer, services: Svc[]): Promise<void> {
  const t0 = Date.now();
  const namespaces = [...new Set(services.map((s) => s.ns))];
  await concurrently(namespaces, 16, (ns) => createNamespace(api, ns, { mesh: 'on' }));
  let done = 0;
  const tick = () => {
    if (++done % 2000 === 0) say(`written ${done} objects (${Math.round(done / ((Date.now() - t0) / 1000))}/s)`);
  };
  await concurrently(services, CONCURRENCY, async (s) => {
    await putService(api, { namespace: s.ns, name: s.name, selector: { app: s.name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
    tick();
  });
  const pods = services.flatMap((s) => s.pods.map((p) => ({ s, p })));
  await concurrently(pods, CONCURRENCY, async ({ s, p }) => {
    const rs = p.name.slice(0, p.name.lastIndexOf('-'));
    await createPod(api, { namespace: s.ns, name: p.name, labels: { app: s.name, 'pod-template-hash': rs.slice(rs.lastIndexOf('-') + 1) }, ip: p.ip, owner: { kind: 'ReplicaSet', name: rs } });
    tick();
  });
  await concurrently(services, CONCURRENCY, async (s) => {
    await putEndpointSlice(api, { namespace: s.ns, name: s.name }, s.pods, [{ name: 'http', port: 8080 }]);
    tick();
  });
  say(`wrote ${namespaces.length} namespaces, ${services.length} services, ${pods.length} pods, ${services.length} EndpointSlices in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

const api = await startApiServer({ istioCrds: true });
// Interrupted (it takes a while at full scale): stop etcd and the API server, not just this process.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void api.stop().finally(() => process.exit(130)));
try {
  const services = plan();
  await write(api, services);

  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const source = await KubernetesInventorySource.start({ kubeconfig: api.kubeconfig, log: say });
  const syncMs = performance.now() - t0;
  // This process's CPU: on a shared machine wall time says as much about the neighbours.
  const cpu = process.cpuUsage(cpu0);
  const syncCpuMs = (cpu.user + cpu.system) / 1000;
  gc();
  const mem = process.memoryUsage();
  const inv = source.current;
  const pods = [...inv.workloads()].length;

  // One endpoint change at a time: a pod of some service is relabelled (a rollout touching one pod).
  const latencies: number[] = [];
  const flushCpu: number[] = [];
  for (let r = 0; r < 20; r++) {
    const s = services[(r * 7919) % services.length];
    const pod = s.pods[r % P];
    const id = `${pod.name}.${s.ns}`;
    const changed = new Promise<void>((resolve) => {
      const on = (next: Inventory) => {
        if (next.workload(id)?.labels.rev !== String(r)) return;
        source.off('change', on);
        resolve();
      };
      source.on('change', on);
    });
    const w0 = performance.now();
    const res = await api.request('PATCH', `/api/v1/namespaces/${s.ns}/pods/${pod.name}`, { metadata: { labels: { rev: String(r) } } }, 'application/merge-patch+json');
    if (res.status !== 200) throw new Error(`relabel ${id}: HTTP ${res.status}`);
    await changed;
    latencies.push(performance.now() - w0);
    flushCpu.push(source.stats().lastFlushMs);
  }
  source.close();

  process.stdout.write(`\nKubernetes inventory bench: ${S} services, ${S * P} pods, ${Math.ceil(S / perNs)} namespaces, real kube-apiserver (node ${process.version})\n\n`);
  process.stdout.write(`initial sync (list every kind + first inventory)  ${(syncMs / 1000).toFixed(2)} s wall, ${(syncCpuMs / 1000).toFixed(2)} s CPU → ${inv.services.length} services, ${pods} workloads\n`);
  process.stdout.write(`memory after sync                                  heap +${mb(mem.heapUsed - heap0)} (${mb(mem.heapUsed)} total), rss ${mb(mem.rss)} (+${mb(mem.rss - rss0)})\n`);
  process.stdout.write(`one pod changed, API write → new version          p50 ${median(latencies)!.toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms (debounce 50 ms included)\n`);
  process.stdout.write(`  the source's own CPU for it (flush → delta)      p50 ${median(flushCpu)!.toFixed(2)} ms, max ${Math.max(...flushCpu).toFixed(2)} ms\n`);
} finally {
  await api.stop();
}
