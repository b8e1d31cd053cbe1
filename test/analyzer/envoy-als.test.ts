// A real Envoy streaming its access log to the analyzer's ALS (HTTP and TCP
// entries) while it takes its own configuration from the analyzer's xDS
// server: its requests become edges, and the new scope reaches it (ACKed).
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { startAnalyzer, type RunningAnalyzer } from '../../analyzer/app.ts';
import { startEnvoy, type EnvoyProcess } from '../harness/envoy.ts';
import { waitUntil } from '../harness/wait.ts';
import { alsBootstrap } from './support/envoy-als.ts';
import { PAGE, tempMesh, type TempMesh } from './support/mesh.ts';

const REVIEWS_CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';
const DETAILS_CLUSTER = 'outbound|9080||details.default.svc.cluster.local';
const RATINGS_CLUSTER = 'outbound|9080||ratings.default.svc.cluster.local';

function get(port: number, host: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/reviews/1', headers: { host, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Envoy access logs over gRPC ALS', () => {
  let mesh: TempMesh;
  let run: RunningAnalyzer;
  let envoy: EnvoyProcess;
  let tcpUpstream: net.Server;
  let httpUpstream: http.Server;
  let ports: Record<string, number>;
  const api = (path: string) => fetch(`http://127.0.0.1:${run.httpPort}${path}`).then((r) => r.json());

  before(async () => {
    mesh = tempMesh('als');
    run = await startAnalyzer({ mesh: mesh.meshFile, data: mesh.dataDir });
    tcpUpstream = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
    await new Promise((r) => tcpUpstream.once('listening', r));
    httpUpstream = http.createServer((_, res) => res.end('ratings')).listen(0, '127.0.0.1');
    await new Promise((r) => httpUpstream.once('listening', r));
    const bootstrap = alsBootstrap({
      workload: PAGE,
      xdsPort: run.xdsPort,
      alsPort: run.alsPort,
      tcpUpstreamPort: (tcpUpstream.address() as net.AddressInfo).port,
      tcpCluster: DETAILS_CLUSTER,
      httpUpstreamPort: (httpUpstream.address() as net.AddressInfo).port,
      httpCluster: RATINGS_CLUSTER,
    });
    envoy = await startEnvoy({ bootstrapYaml: YAML.stringify(bootstrap), name: 'als-sidecar' });
    await envoy.waitFor(async () => {
      ports = await envoy.listenerPorts();
      return ports.logged_http > 0 && ports.logged_http_upstream > 0 && ports.logged_tcp > 0;
    }, 'static listeners');
  });
  after(async () => {
    await envoy?.stop();
    await run?.close();
    tcpUpstream?.close();
    httpUpstream?.close();
    mesh?.remove();
  });

  it('shows the connected sidecar and what it ACKed', async () => {
    await waitUntil(async () => (await api('/api/v1/proxies')).length === 1, 'the sidecar on ADS', 15_000);
    const [p] = await api('/api/v1/proxies');
    assert.equal(p.workload, PAGE);
    assert.equal(p.service, 'productpage.default');
    assert.equal(p.profile, 'envoy');
    assert.deepEqual(p.scope, []);
    const one = await api(`/api/v1/proxies/${encodeURIComponent(p.nodeId)}`);
    assert.equal(one.nodeId, p.nodeId);
    assert.ok(one.bytes.bytesScoped > 0);
    assert.deepEqual((await api(`/api/v1/proxies/${PAGE}`)).nodeId, p.nodeId, 'found by workload too');
  });

  it('turns logged HTTP requests into edges and pushes the widened scope to the sidecar', async () => {
    assert.equal(await get(ports.logged_http, 'reviews:9080', { 'x-meshscope-source': PAGE }), 200);
    await waitUntil(async () => (await api('/api/v1/services/default/productpage')).scope.includes('reviews.default'), 'productpage → reviews from ALS', 15_000);
    const [edge] = (await api('/api/v1/services/default/productpage')).out;
    assert.equal(edge.target, 'reviews.default');
    assert.equal(edge.count, 1);
    assert.deepEqual(edge.protocols, ['http']);

    // The sidecar itself receives the reviews cluster and ACKs it.
    await envoy.waitFor(async () => JSON.stringify(await envoy.configDump({ includeEds: false })).includes(REVIEWS_CLUSTER), 'the reviews cluster in the sidecar', 15_000);
    await waitUntil(async () => {
      const [p] = await api('/api/v1/proxies');
      const types = Object.values(p.types) as Array<{ versionSent?: string; versionAcked?: string }>;
      return p.scope.includes('reviews.default') && types.every((t) => t.versionAcked === t.versionSent);
    }, 'the sidecar to ACK its new scope', 15_000);
    // The push counts as done once the sidecar has ACKed every response that carried it (the server reports that as an event).
    let metrics = '';
    await waitUntil(async () => {
      metrics = await fetch(`http://127.0.0.1:${run.httpPort}/metrics`).then((r) => r.text());
      return Number(/^meshscope_push_latency_seconds_count (\d+)$/m.exec(metrics)?.[1]) >= 1;
    }, 'the push latency to be observed', 5_000);
    assert.match(metrics, /^meshscope_push_latency_seconds_count 1$/m, 'one scope change, one sidecar: one observation');
    assert.match(metrics, /^meshscope_push_nacked_total 0$/m);
    const sum = Number(/^meshscope_push_latency_seconds_sum (\S+)$/m.exec(metrics)?.[1]);
    assert.ok(sum > 0 && sum < 5, `a plausible push latency: ${sum} s`);
    assert.match(metrics, /^meshscope_als_streams [12]$/m);
    // A sidecar on loopback (trusted by default) is believed on both ports; the counters are exported.
    assert.match(metrics, /^meshscope_als_identity_refused_total 0$/m);
    assert.match(metrics, /^meshscope_xds_identity_refused_total 0$/m);
  });

  it('takes the caller from the downstream address when no header was logged, and logs TCP too', async () => {
    // 127.0.0.1 is loadgen-0's address in the test mesh.
    assert.equal(await get(ports.logged_http, 'ratings.default.svc.cluster.local:9080'), 200);
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(ports.logged_tcp, '127.0.0.1', () => s.end('ping'));
      s.on('data', () => {});
      s.on('close', () => resolve());
      s.on('error', reject);
    });
    await waitUntil(async () => (await api('/api/v1/services/shop/loadgen')).scope.length === 2, 'loadgen edges from HTTP and TCP logs', 15_000);
    const loadgen = await api('/api/v1/services/shop/loadgen');
    assert.deepEqual(loadgen.scope, ['details.default', 'ratings.default']);
    assert.deepEqual(loadgen.out.find((e: any) => e.target === 'details.default').protocols, ['tcp']);
  });

  it('counts an HTTP request once, as HTTP, though the TCP logger reports it too (as with both Istio ALS providers)', async () => {
    const entries = async () => Number(/^meshscope_als_entries_total (\d+)$/m.exec(await fetch(`http://127.0.0.1:${run.httpPort}/metrics`).then((r) => r.text()))?.[1]);
    const ratings = async () => (await api('/api/v1/services/shop/loadgen')).out.find((e: any) => e.target === 'ratings.default');
    const before = { entries: await entries(), count: (await ratings()).count };
    // 127.0.0.1 is loadgen-0; the route's cluster names ratings, as a sidecar's outbound route does.
    assert.equal(await get(ports.logged_http_upstream, 'ratings:9080'), 200);
    await waitUntil(async () => (await entries()) >= before.entries + 2, 'the request logged by both loggers', 15_000);
    await waitUntil(async () => (await ratings()).count > before.count, 'the request counted', 15_000);
    const edge = await ratings();
    assert.equal(edge.count, before.count + 1, 'one request, one count');
    assert.deepEqual(edge.protocols, ['http']);
  });
});
