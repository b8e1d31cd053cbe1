// The first call to an unknown destination reaches meshscope's lazy gateway,
// with the real istiod, for HTTP/1.1, prior-knowledge h2c and gRPC, on a port
// an in-scope service also uses and on a port none does — through what
// meshscope itself writes (the Sidecar with egressProxy and the catch-all
// EnvoyFilter, docs/istio-fallback.md). Each unknown destination is its own
// service: once called, a service is in scope and later calls go direct.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod } from '../harness/k8s/pod.ts';
import { appPod, callFrom, serviceClusters, startIstioEnv, waitFor, type IstioEnv } from './support/istio-env.ts';

const NS = 'default';
let env: IstioEnv;
let client: Pod;
/** A pod with a Sidecar its user wrote: egressProxy alone, no catch-all EnvoyFilter (meshscope leaves it alone). */
let bare: Pod;
/**
 * A pod whose hand-written Sidecar sees what bare's does but has no egressProxy. istiod's route cache key
 * leaves egressProxy out, so the routes built for it first are the ones bare is served: without it, whether
 * bare got a passthrough catch-all depended on the order of istiod's own pushes (1 run in 4 did not).
 */
let primer: Pod;
const GATEWAY_CLUSTER = 'outbound|80||meshscope-gateway.meshscope.svc.cluster.local';
/** The clusters of a pod whose Sidecar sees known alone. */
const KNOWN_ONLY = JSON.stringify(['outbound|9080||known.default.svc.cluster.local', 'outbound|9081||known.default.svc.cluster.local', 'outbound|9082||known.default.svc.cluster.local']);

/** Where each of a pod's HTTP route configurations sends the catch-all (`allow_any`) route, by route name. */
async function catchAll(pod: Pod): Promise<Record<string, string>> {
  const dump = JSON.parse(await pod.envoyAdmin('/config_dump'));
  const out: Record<string, string> = {};
  for (const c of dump.configs) {
    for (const r of c.dynamic_route_configs ?? []) {
      const vh = r.route_config.virtual_hosts?.find((v: any) => v.name === 'allow_any');
      if (vh) out[r.route_config.name] = vh.routes[0].route?.cluster;
    }
  }
  return out;
}

/** One service per case, with the one port it is called on (known has all three: it is in scope). */
const SERVICES: Array<{ name: string; ports: Array<{ name: string; port: number }> }> = [
  { name: 'known', ports: [{ name: 'http', port: 9080 }, { name: 'http2', port: 9081 }, { name: 'grpc', port: 9082 }] },
  { name: 'shared-h1', ports: [{ name: 'http', port: 9080 }] },
  { name: 'shared-h2', ports: [{ name: 'http2', port: 9081 }] },
  { name: 'shared-grpc', ports: [{ name: 'grpc', port: 9082 }] },
  { name: 'own-h1', ports: [{ name: 'http', port: 7072 }] },
  { name: 'own-h2', ports: [{ name: 'http2', port: 7071 }] },
  { name: 'own-grpc', ports: [{ name: 'grpc', port: 7070 }] },
];
const ENV_OF: Record<string, string> = { http: 'PORT', http2: 'H2_PORT', grpc: 'GRPC_PORT' };

/** A first call from the client, which must come back from the right pod, through the gateway (no client cert), with its authority. */
async function firstCall(svc: string, port: number, protocol: string): Promise<void> {
  assert.ok(!(await serviceClusters(client)).some((c) => c.endsWith(`||${svc}.${NS}.svc.cluster.local`)), `${svc} is already in scope`);
  const r = await callFrom(client, `http://${svc}:${port}/first`, protocol);
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.equal(r.body.pod, `${svc}-v1-fallback0-00000.${NS}`);
  assert.equal(r.body.protocol, protocol === 'http' ? 'http/1.1' : protocol);
  assert.equal(r.body.xfcc, null, 'the call came direct, not through the gateway');
  if (protocol !== 'grpc') assert.equal(r.body.authority, `${svc}:${port}`);
  // The gateway reported it for the client's pod (identified by its IP): the scope widens to it.
  await waitFor(async () => (await serviceClusters(client)).some((c) => c === `outbound|${port}||${svc}.${NS}.svc.cluster.local`), `${svc} in the client's Envoy`);
  const again = await callFrom(client, `http://${svc}:${port}/again`, protocol);
  assert.equal(again.status, 200);
  assert.match(again.body.xfcc ?? '', /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-client/, 'the later call did not go direct over mTLS');
}

describe('unknown destinations reach the lazy gateway on the first call (real istiod)', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    env = await startIstioEnv();
    const specs = [appPod('client', 'v1', 'client-v1-fallback0-00000'), appPod('bare', 'v1', 'bare-v1-fallback0-00000'), appPod('primer', 'v1', 'primer-v1-fallback0-00000')];
    for (const s of SERVICES) {
      const ports = Object.fromEntries(s.ports.map((p) => [ENV_OF[p.name], String(p.port)]));
      // The app always serves HTTP/1.1 somewhere; give it an unused port when the service has none.
      specs.push(appPod(s.name, 'v1', `${s.name}-v1-fallback0-00000`, { PORT: '8999', ...ports }));
    }
    [client, bare, primer] = await env.cluster.addPods(specs);
    await env.cluster.applyServiceFor({ name: 'client', namespace: NS, ports: [{ name: 'http', port: 9080, targetPort: 9080 }], selector: { app: 'client' } });
    for (const s of SERVICES) {
      await env.cluster.applyServiceFor({ name: s.name, namespace: NS, ports: s.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port })), selector: { app: s.name } });
    }
    const handWritten = (app: string, egressProxy: boolean) =>
      env.api.kubectl(['apply', '--field-manager', 'someone', '-f', '-'], {
        input: JSON.stringify({
          apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: `${app}-by-hand`, namespace: NS },
          spec: {
            workloadSelector: { labels: { app } },
            egress: [{ hosts: [`./known.${NS}.svc.cluster.local`, 'istio-system/*', 'meshscope/*'] }],
            outboundTrafficPolicy: {
              mode: 'ALLOW_ANY',
              ...(egressProxy ? { egressProxy: { host: 'meshscope-gateway.meshscope.svc.cluster.local', port: { number: 80 } } } : {}),
            },
          },
        }),
      });
    // The primer's routes first (passthrough catch-all, cached), then bare's Sidecar: same cache key.
    await handWritten('primer', false);
    await waitFor(async () => JSON.stringify((await serviceClusters(primer)).sort()) === KNOWN_ONLY && (await catchAll(primer))['9081'] === 'PassthroughCluster', 'the primer scoped to known, its 9081 route built');
    await handWritten('bare', true);
    await env.meshscope.start();
    await waitFor(async () => (await serviceClusters(client)).length === 0, 'the client scoped to nothing', 120_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n${env.meshscope.logTail()}`);
    });
    // known becomes the in-scope service whose ports the "shared port" cases reuse.
    for (const [port, protocol] of [[9080, 'http'], [9081, 'h2c'], [9082, 'grpc']] as const) {
      assert.equal((await callFrom(client, `http://known:${port}/`, protocol)).status, 200);
    }
    await waitFor(async () => (await serviceClusters(client)).filter((c) => c.endsWith('||known.default.svc.cluster.local')).length === 3, 'known in scope');
  });

  after(async () => {
    if (process.env.MESHSCOPE_KEEP_TMP) console.error(env?.cluster.logs(40), env?.meshscope.logTail(80));
    await env?.stop();
  });

  it('HTTP/1.1 on a port an in-scope service also uses (9080)', () => firstCall('shared-h1', 9080, 'http'));
  it('h2c on a port an in-scope service also uses (9081)', () => firstCall('shared-h2', 9081, 'h2c'));
  it('gRPC on a port an in-scope service also uses (9082)', () => firstCall('shared-grpc', 9082, 'grpc'));
  it('HTTP/1.1 on a port no in-scope service uses (7072)', () => firstCall('own-h1', 7072, 'http'));
  it('h2c on a port no in-scope service uses (7071)', () => firstCall('own-h2', 7071, 'h2c'));
  it('gRPC on a port no in-scope service uses (7070)', () => firstCall('own-grpc', 7070, 'grpc'));

  it("needs the catch-all EnvoyFilter: with egressProxy alone istiod serves a cached route whose catch-all is passthrough", async () => {
    // Same visible services as the primer, and the route cache key ignores egressProxy: port 9081's route, built
    // for the primer (passthrough), is served to this pod as is. Any pod that sees what it sees can be first.
    await waitFor(async () => JSON.stringify((await serviceClusters(bare)).sort()) === KNOWN_ONLY, 'the hand-scoped pod scoped to known');
    const bareRoutes = await catchAll(bare);
    assert.equal(bareRoutes['9081'], 'PassthroughCluster', JSON.stringify(bareRoutes));
    const clientRoutes = await catchAll(client);
    for (const [route, cluster] of Object.entries(clientRoutes)) assert.equal(cluster, GATEWAY_CLUSTER, `client route ${route}`);
  });

  it('the gateway attributed every first call to the client pod (by its IP, from the Kubernetes inventory)', async () => {
    const view = await env.meshscope.get(`/api/v1/services/${NS}/client`);
    const targets = view.out.map((e: any) => e.target).sort();
    for (const s of SERVICES) assert.ok(targets.includes(`${s.name}.${NS}`), `${s.name} missing from ${targets.join(', ')}`);
  });
});
