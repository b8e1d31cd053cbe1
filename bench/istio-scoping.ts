// What scoping is worth next to a real Istio, and how long the lazy path
// lasts: one productpage-like caller pod (pilot-agent + upstream Envoy, real
// istiod) while the API server holds 1k, then 5k services. Prints the
// caller's Envoy memory and cluster count with the full mesh and with a
// Sidecar scoped to the 3 services it calls, then time-to-direct p50/p99
// through `meshscope analyzer --istio` (first call at the lazy gateway →
// Sidecar written → istiod pushed → the caller's Envoy ACKed).
//
//   node --import tsx bench/istio-scoping.ts [--sizes 1000,5000] [--direct 20]
//
// Needs root (pods are network namespaces) and the cached binaries.
import { parseArgs } from 'node:util';
import type { Pod } from '../test/harness/k8s/pod.ts';
import { appPod, callFrom, serviceClusters, startIstioEnv, type IstioEnv } from '../test/istio/support/istio-env.ts';
import { waitUntil } from '../test/harness/wait.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1000,5000' }, direct: { type: 'string', default: '20' } } });
const SIZES = values.sizes!.split(',').map(Number);
const DIRECT = Number(values.direct);
const say = (msg: string) => process.stderr.write(`[istio-scoping ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const NS = 'bench';

async function envoyFigures(pod: Pod): Promise<{ clusters: number; allocatedMiB: number; heapMiB: number }> {
  const mem = JSON.parse(await pod.envoyAdmin('/memory')) as { allocated: string; heap_size: string };
  const clusters = (await pod.clusterNames()).length;
  return { clusters, allocatedMiB: Number(mem.allocated) / 2 ** 20, heapMiB: Number(mem.heap_size) / 2 ** 20 };
}

/** Services svc-i (port 9080) with one endpoint each at an address nothing answers on: config only. */
async function createServices(env: IstioEnv, from: number, to: number): Promise<void> {
  const jobs: Array<() => Promise<unknown>> = [];
  for (let i = from; i < to; i++) {
    const name = `svc-${i}`;
    jobs.push(async () => {
      const svc = await env.api.request('POST', `/api/v1/namespaces/${NS}/services`, {
        apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { app: name } },
        spec: { selector: { app: name }, ports: [{ name: 'http', port: 9080, targetPort: 9080 }] },
      });
      if (svc.status >= 300 && svc.status !== 409) throw new Error(`create service ${name}: ${svc.status} ${JSON.stringify(svc.body).slice(0, 200)}`);
      const slice = await env.api.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
        metadata: { name: `${name}-bench`, labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4', ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
        endpoints: [{ addresses: [`10.253.${Math.floor(i / 250)}.${(i % 250) + 1}`], conditions: { ready: true } }],
      });
      if (slice.status >= 300 && slice.status !== 409) throw new Error(`create endpointslice ${name}: ${slice.status}`);
    });
  }
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < jobs.length) {
      await jobs[next++]();
      if (++done % 500 === 0) say(`  ${from + done} services`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function main(): Promise<void> {
  say('starting kube-apiserver, istiod and the caller pod');
  const env = await startIstioEnv();
  try {
    await env.cluster.ensureNamespace(NS);
    const url = (svc: string) => `http://${svc}.default:9080/`;
    // The caller and DIRECT real backends it will call for the first time later.
    const backends = Array.from({ length: DIRECT }, (_, i) => appPod(`target${i}`, 'v1', `target${i}-v1-bench0000-0000${i}`));
    const [caller] = await env.cluster.addPods([appPod('productpage', 'v1', 'productpage-v1-bench00000-00000', {}), ...backends]);
    for (let i = 0; i < DIRECT; i++) {
      await env.cluster.applyServiceFor({ name: `target${i}`, namespace: 'default', ports: [{ name: 'http', port: 9080, targetPort: 9080 }], selector: { app: `target${i}` } });
    }
    const figures: string[] = [];
    let have = 0;
    for (const size of SIZES) {
      say(`creating services ${have}..${size} in namespace ${NS}`);
      const t0 = Date.now();
      await createServices(env, have, size);
      have = size;
      say(`  created in ${((Date.now() - t0) / 1000).toFixed(1)} s; waiting for the caller's Envoy to hold them all`);
      const t1 = Date.now();
      await waitUntil(async () => (await caller.clusterNames()).length >= size + DIRECT, `${size} clusters in the caller's Envoy`, 600_000, { intervalMs: 1000 });
      const full = await envoyFigures(caller);
      say(`  full config after ${((Date.now() - t1) / 1000).toFixed(1)} s`);
      await env.api.apply(JSON.stringify({
        apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'bench-scope', namespace: 'default' },
        spec: { workloadSelector: { labels: { app: 'productpage' } }, egress: [{ hosts: ['istio-system/*', `${NS}/svc-0.${NS}.svc.cluster.local`, `${NS}/svc-1.${NS}.svc.cluster.local`, `${NS}/svc-2.${NS}.svc.cluster.local`] }] },
      }));
      await waitUntil(async () => (await caller.clusterNames()).length < 50, 'the scoped config', 300_000, { intervalMs: 500 });
      // Envoy returns memory to the OS lazily; what tcmalloc holds allocated is the figure that follows config.
      const scoped = await envoyFigures(caller);
      figures.push(
        `${size} services: full ${full.clusters} clusters, ${full.allocatedMiB.toFixed(1)} MiB allocated (heap ${full.heapMiB.toFixed(1)}) | ` +
          `scoped ${scoped.clusters} clusters, ${scoped.allocatedMiB.toFixed(1)} MiB allocated (heap ${scoped.heapMiB.toFixed(1)})`,
      );
      say(figures.at(-1)!);
      await env.api.kubectl(['-n', 'default', 'delete', 'sidecar', 'bench-scope']);
    }

    say(`time-to-direct: meshscope analyzer --istio, ${DIRECT} first calls with ${have} services in the API server`);
    await env.meshscope.start();
    await waitUntil(async () => (await serviceClusters(caller)).length === 0, 'the caller scoped by meshscope', 300_000, { intervalMs: 500 });
    for (let i = 0; i < DIRECT; i++) {
      const r = await callFrom(caller, url(`target${i}`));
      if (r.status !== 200) throw new Error(`first call to target${i}: ${JSON.stringify(r)}`);
      await waitUntil(async () => (await serviceClusters(caller)).includes(`outbound|9080||target${i}.default.svc.cluster.local`), `target${i} in the caller's Envoy`, 120_000, { intervalMs: 100 });
    }
    let t: any;
    await waitUntil(async () => {
      t = await env.meshscope.get('/api/v1/istio/time-to-direct');
      return t.measurements.filter((m: any) => m.state === 'done').length >= DIRECT - 1 && !t.measurements.some((m: any) => m.state === 'pending');
    }, 'the measurements', 120_000);
    const totals = t.measurements.filter((m: any) => m.state === 'done').map((m: any) => m.totalMs as number);
    const writeToAck = t.measurements.filter((m: any) => m.state === 'done').map((m: any) => (m.ackedAt - m.writtenAt) as number);
    figures.push(
      `time-to-direct (${totals.length} first calls, ${have} services): p50 ${percentile(totals, 50)} ms, p99 ${percentile(totals, 99)} ms; ` +
        `of which Sidecar write → ACK p50 ${percentile(writeToAck, 50)} ms, p99 ${percentile(writeToAck, 99)} ms`,
    );
    console.log(figures.join('\n'));
  } finally {
    await env.stop();
  }
}

await main();
