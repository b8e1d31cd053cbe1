// The Online Boutique topology (fixtures/online-boutique: mesh.yaml for the
// services, ports and pod names, expected.yaml for who calls whom) next to
// the real istiod with mTLS on: gRPC between the services, two of which share
// port 50051. The driver is the node calling frontend (the fixture's
// loadgenerator has no port, so no Service selects it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import type { Pod } from '../harness/k8s/pod.ts';
import { APP, getApp, ROOT, serviceClusters, startIstioEnv, waitFor, type IstioEnv } from './support/istio-env.ts';

interface FixtureService {
  name: string;
  namespace: string;
  ports: Array<{ port: number; targetPort: number; protocol: string }>;
  workloads: Array<{ name: string; labels: Record<string, string> }>;
}
const dir = path.join(ROOT, 'fixtures/online-boutique');
const mesh = YAML.parse(fs.readFileSync(path.join(dir, 'mesh.yaml'), 'utf8')) as { services: FixtureService[] };
const scopes = YAML.parse(fs.readFileSync(path.join(dir, 'expected.yaml'), 'utf8')).scopes as Record<string, string[]>;
const services = mesh.services.filter((s) => s.ports.length > 0);
const byId = new Map(services.map((s) => [`${s.name}.${s.namespace}`, s]));
const fqdn = (id: string) => `${byId.get(id)!.name}.${byId.get(id)!.namespace}.svc.cluster.local`;
const deps = (s: FixtureService) => (scopes[`${s.name}.${s.namespace}`] ?? []).filter((d) => byId.has(d));

function depUrl(id: string): string {
  const s = byId.get(id)!;
  const p = s.ports[0];
  return `${p.protocol === 'grpc' ? 'grpc' : 'http'}://${s.name}:${p.port}/${s.name}`;
}

let env: IstioEnv;
const pods = new Map<string, Pod>();
const frontend = () => pods.get('frontend.default')!;

/** GET / on frontend from the node; every nested call flattened as [caller pod, callee pod, status, xfcc]. */
async function request(): Promise<Array<{ to: string; status: number; xfcc: string | null }>> {
  const port = byId.get('frontend.default')!.ports[0].targetPort;
  const res = await getApp(frontend(), '/', port);
  assert.equal(res.status, 200);
  const out: Array<{ to: string; status: number; xfcc: string | null }> = [];
  const walk = (calls: any[]) => {
    for (const c of calls ?? []) {
      out.push({ to: c.url, status: c.status, xfcc: c.body?.xfcc ?? null });
      walk(c.body?.calls);
    }
  };
  walk(res.body.calls);
  return out;
}

describe('meshscope next to Istio: Online Boutique (gRPC)', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    env = await startIstioEnv();
    const specs = services.map((s) => {
      const envs: Record<string, string> = { PORT: '9080', DEPS: deps(s).map(depUrl).join(',') };
      for (const p of s.ports) envs[p.protocol === 'grpc' ? 'GRPC_PORT' : 'PORT'] = String(p.targetPort);
      const w = s.workloads[0];
      return {
        name: w.name, namespace: s.namespace, labels: w.labels, serviceAccount: s.name,
        deployment: s.name, app: { script: APP, env: envs },
      };
    });
    for (const pod of await env.cluster.addPods(specs)) pods.set(`${pod.deployment}.${pod.spec.namespace}`, pod);
    for (const s of services) {
      await env.cluster.applyServiceFor({
        name: s.name, namespace: s.namespace, selector: s.workloads[0].labels,
        ports: s.ports.map((p) => ({ name: p.protocol === 'grpc' ? 'grpc' : 'http', port: p.port, targetPort: p.targetPort })),
      });
    }
    await env.meshscope.start();
    await waitFor(async () => {
      for (const pod of pods.values()) if ((await serviceClusters(pod)).length !== 0) return false;
      return true;
    }, 'every boutique proxy scoped to nothing', 180_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n${env.meshscope.logTail()}`);
    });
  });

  after(async () => {
    if (process.env.MESHSCOPE_KEEP_TMP) console.error(env?.cluster.logs(40), env?.meshscope.logTail(80));
    await env?.stop();
  });

  it('the first request succeeds end to end: every nested gRPC call goes through the gateway', async () => {
    const calls = await request();
    const want = new Set(services.flatMap((s) => deps(s).map(depUrl)));
    assert.deepEqual(new Set(calls.map((c) => c.to)), want);
    for (const c of calls) {
      assert.equal(c.status, 200, JSON.stringify(c));
      assert.equal(c.xfcc, null, `${c.to} came direct`);
    }
  });

  it("each service's Envoy ends with exactly expected.yaml's scope", async () => {
    for (const s of services) {
      const want = deps(s).map((d) => `outbound|${byId.get(d)!.ports[0].port}||${fqdn(d)}`).sort();
      const pod = pods.get(`${s.name}.${s.namespace}`)!;
      await waitFor(async () => JSON.stringify(await serviceClusters(pod)) === JSON.stringify(want), `${s.name}'s Envoy to hold ${want.join(', ') || 'nothing'}`, 90_000);
    }
  });

  it('later requests go direct, over mTLS, between every pair', async () => {
    let last: Array<{ to: string; status: number; xfcc: string | null }> = [];
    // Until every scope has reached its Envoy; each request must still succeed meanwhile.
    await waitFor(async () => {
      last = await request();
      for (const c of last) assert.equal(c.status, 200, JSON.stringify(c));
      return last.every((c) => /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\//.test(c.xfcc ?? ''));
    }, 'every call direct over mTLS', 90_000).catch((err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(last.filter((c) => !c.xfcc).map((c) => c.to))}`);
    });
  });
});
