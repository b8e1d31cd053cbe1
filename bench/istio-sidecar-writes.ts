// Sidecar writes under a burst of new edges (prints figures; not a test).
//
//   node --import tsx bench/istio-sidecar-writes.ts [--groups 100] [--services 500]
//        [--edges 1000] [--spread-ms 500] [--qps 20] [--burst 40] [--quiet-ms 100] [--max-delay-ms 1000] [--concurrency 4]
//
// A real kube-apiserver (test/harness/k8s) with the Istio CRDs; an inventory of
// G caller Deployments (2 pods each) and S services; the Sidecar writer as the
// scope sink. After the initial Sidecars are written, E new edges (distinct
// caller → service pairs) arrive over --spread-ms in 20 batches, each widening
// its caller's scope as the analyzer would. Prints the writes issued (counted
// by the API server's own apiserver_request_total), writes per touched group,
// apply latency, and the time from the first new edge until the API server
// holds every Sidecar with its full scope.
import { parseArgs } from 'node:util';
import { FixedInventorySource } from '../contracts/index.ts';
import { DEFAULT_INSTANCE, kubeSidecarApi, loadKubeConfig, startIstioSidecars, type SidecarApi } from '../istio-sidecars/index.ts';
import { startApiServer } from '../test/harness/k8s/apiserver.ts';
import { createNamespace } from '../test/harness/k8s/workloads.ts';
import { waitUntil } from '../test/harness/wait.ts';
import { GATEWAY, sidecarsIn, sidecarWrites } from '../test/istio-sidecars/apiserver.ts';
import { inventory, type DeploymentSpec } from '../test/istio-sidecars/mesh.ts';
import { seededRandom } from './random.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({
  options: {
    groups: { type: 'string', default: '100' },
    services: { type: 'string', default: '500' },
    edges: { type: 'string', default: '1000' },
    'spread-ms': { type: 'string', default: '500' },
    qps: { type: 'string', default: '20' },
    burst: { type: 'string', default: '40' },
    'quiet-ms': { type: 'string', default: '100' },
    'max-delay-ms': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '4' },
  },
});
const G = Number(values.groups);
const S = Number(values.services);
const E = Number(values.edges);
const SPREAD = Number(values['spread-ms']);
if (E > G * S) throw new Error(`--edges ${E}: at most --groups × --services (${G * S}) distinct edges`);
const NS = 'bench';
const progress = (msg: string) => process.stderr.write(`[istio-sidecar-writes] ${msg}\n`);

// Seeded: runs pick the same edges.
const random = seededRandom(7);

const api = await startApiServer();
try {
  await createNamespace(api, NS);
  const callers: DeploymentSpec[] = Array.from({ length: G }, (_, i) => ({ name: `caller-${i}`, namespace: NS, service: `caller-${i}`, labels: { app: `caller-${i}` }, replicas: 2 }));
  const targets = Array.from({ length: S }, (_, i) => ({ name: `svc-${i}`, namespace: NS }));
  const source = new FixedInventorySource(inventory(callers, targets));

  const kc = loadKubeConfig(api.kubeconfig);
  const real = kubeSidecarApi(kc);
  const applyMs: number[] = [];
  const timed: SidecarApi = {
    async apply(obj) {
      const t = performance.now();
      try {
        return await real.apply(obj);
      } finally {
        applyMs.push(performance.now() - t);
      }
    },
    delete: (s) => real.delete(s),
  };
  const tuning = { qps: Number(values.qps), burst: Number(values.burst), quietMs: Number(values['quiet-ms']), maxDelayMs: Number(values['max-delay-ms']), concurrency: Number(values.concurrency) };
  const { writer, close } = await startIstioSidecars({ kc, api: timed, inventory: source, gateway: GATEWAY, instance: DEFAULT_INSTANCE, tuning, log: (m) => progress(m) });
  try {
    let t = performance.now();
    writer.start();
    await writer.idle();
    progress(`initial: ${G} Sidecars written in ${(performance.now() - t).toFixed(0)} ms (qps ${tuning.qps}, burst ${tuning.burst})`);
    const base = await sidecarWrites(api);
    applyMs.length = 0;

    // E distinct edges, in the order they arrive.
    const seen = new Set<string>();
    const edges: Array<[number, number]> = [];
    while (edges.length < E) {
      const c = random(G);
      const s = random(S);
      if (seen.has(`${c}/${s}`)) continue;
      seen.add(`${c}/${s}`);
      edges.push([c, s]);
    }
    const scopes = new Map<number, string[]>();
    const BATCHES = 20;
    const perBatch = Math.ceil(E / BATCHES);
    let lastApplied = 0;
    writer.on('applied', (_s, at) => (lastApplied = at));
    const start = Date.now();
    t = performance.now();
    for (let b = 0; b < BATCHES; b++) {
      for (const [c, s] of edges.slice(b * perBatch, (b + 1) * perBatch)) {
        const list = scopes.get(c) ?? [];
        list.push(`svc-${s}.${NS}`);
        scopes.set(c, list);
        writer.setServiceScope(`caller-${c}.${NS}`, list);
      }
      if (b < BATCHES - 1) await new Promise((r) => setTimeout(r, SPREAD / BATCHES));
    }
    const delivered = performance.now() - t;
    const want = new Map([...scopes].map(([c, list]) => [`meshscope-caller-${c}`, list.length]));
    await waitUntil(
      async () => {
        const items = await sidecarsIn(api, NS);
        return items.every((s) => (want.get(s.metadata.name) ?? 0) + 2 === s.spec.egress[0].hosts.length);
      },
      'every Sidecar holding its scope',
      120_000,
      { intervalMs: 20 },
    );
    const reflected = performance.now() - t;
    await writer.idle();
    const after = await sidecarWrites(api);
    const applies = after.apply - base.apply;
    console.log(`Sidecar writes under a burst of ${E} new edges (${G} caller groups, ${S} services, edges over ${SPREAD} ms; qps ${tuning.qps}, burst ${tuning.burst}, quiet ${tuning.quietMs} ms, max delay ${tuning.maxDelayMs} ms, ${tuning.concurrency} in flight)`);
    console.log(`  groups touched            ${scopes.size}`);
    console.log(`  applies (API server)      ${applies}  (${(applies / scopes.size).toFixed(2)} per touched group; writer counted ${writer.counters.applies - G})`);
    console.log(`  apply latency             p50 ${percentile(applyMs, 50).toFixed(1)} ms, p99 ${percentile(applyMs, 99).toFixed(1)} ms`);
    console.log(`  edges delivered in        ${delivered.toFixed(0)} ms`);
    console.log(`  first edge → last apply   ${lastApplied ? lastApplied - start : NaN} ms`);
    console.log(`  first edge → all Sidecars reflect their scopes (API server list)  ${reflected.toFixed(0)} ms`);
  } finally {
    await close();
  }
} finally {
  await api.stop();
}
