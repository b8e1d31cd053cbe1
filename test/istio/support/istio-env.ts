// An Istio cluster on this machine with meshscope installed next to it the
// way the README says: the real kube-apiserver, istiod (ALS providers and a
// Telemetry resource sending every sidecar's access log to the analyzer),
// pods as network namespaces with pilot-agent + Envoy, and `meshscope
// analyzer --kubeconfig --istio` as a child process on the node (so a test
// can kill and restart it), its Services in namespace `meshscope` pointing at
// the node side of the pod bridge.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer, type ApiServer } from '../../harness/k8s/apiserver.ts';
import { IstioCluster, type ServiceSpec } from '../../harness/k8s/istio-cluster.ts';
import type { Pod, PodSpec } from '../../harness/k8s/pod.ts';
import { freePort } from '../../harness/ports.ts';
import { ManagedProcess, makeTempDir } from '../../harness/proc.ts';
import { waitUntil } from '../../harness/wait.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../../..');
export const APP = path.join(ROOT, 'test/istio/apps/app.mjs');

export const GATEWAY_SERVICE = { name: 'meshscope-gateway', namespace: 'meshscope', port: 80 };
export const GATEWAY_FQDN = 'meshscope-gateway.meshscope.svc.cluster.local';
const ALS_SERVICE_PORT = 15091;

/** Istio mesh config and Telemetry that send sidecars' access logs to meshscope (README "Install next to Istio"). */
export const MESH_CONFIG = {
  extensionProviders: [
    { name: 'meshscope-http-als', envoyHttpAls: { service: 'meshscope-analyzer.meshscope.svc.cluster.local', port: ALS_SERVICE_PORT, logName: 'meshscope' } },
    { name: 'meshscope-tcp-als', envoyTcpAls: { service: 'meshscope-analyzer.meshscope.svc.cluster.local', port: ALS_SERVICE_PORT, logName: 'meshscope' } },
  ],
};
export const TELEMETRY = {
  apiVersion: 'telemetry.istio.io/v1',
  kind: 'Telemetry',
  metadata: { name: 'meshscope-access-logs', namespace: 'istio-system' },
  spec: { accessLogging: [{ providers: [{ name: 'meshscope-http-als' }, { name: 'meshscope-tcp-als' }] }] },
};

export class Meshscope {
  proc: ManagedProcess | undefined;
  readonly dataDir = makeTempDir('istio-e2e-data');
  private runs = 0;
  private readonly token = randomBytes(16).toString('hex');

  constructor(
    readonly env: IstioEnv,
    readonly ports: { http: number; als: number; gateway: number },
  ) {}

  get url(): string {
    return `http://${this.env.cluster.net.nodeIp}:${this.ports.http}`;
  }

  async start(): Promise<void> {
    const { cluster, api } = this.env;
    this.runs++;
    this.proc = new ManagedProcess(`meshscope analyzer #${this.runs}`, process.execPath, [
      path.join(ROOT, 'bin/meshscope.mjs'), 'analyzer',
      '--kubeconfig', api.kubeconfig,
      '--data', this.dataDir,
      '--listen', cluster.net.nodeIp,
      '--http-port', String(this.ports.http),
      '--als-port', String(this.ports.als),
      '--gateway-port', String(this.ports.gateway),
      '--gateway-admin-port', '0',
      '--istio',
      '--gateway-service', `${GATEWAY_SERVICE.name}.${GATEWAY_SERVICE.namespace}:${GATEWAY_SERVICE.port}`,
      '--istiod', cluster.istiod.httpUrl,
      // The API listens on the pod bridge, beyond loopback: writes need tokens (the tests only read).
      '--admin-token', this.token,
      '--ingest-token', this.token,
    ], path.join(this.dataDir, `analyzer-${this.runs}.log`));
    const proc = this.proc;
    await waitUntil(async () => (await fetch(`${this.url}/readyz`)).status === 200, 'meshscope analyzer /readyz', 60_000, {
      abort: () => proc.deadReason(),
    }).catch((err) => {
      throw proc.failure((err as Error).message);
    });
  }

  /** SIGKILL: no shutdown path runs. */
  async kill(): Promise<void> {
    if (!this.proc) return;
    this.proc.child.ref(); // unref'd by ManagedProcess: keep the loop alive until it is gone
    this.proc.child.kill('SIGKILL');
    await this.proc.exited;
  }

  async stop(): Promise<void> {
    await this.proc?.stop(10_000);
  }

  async get(p: string): Promise<any> {
    const res = await fetch(this.url + p);
    if (!res.ok) throw new Error(`meshscope GET ${p}: HTTP ${res.status}: ${await res.text()}`);
    return p === '/metrics' ? res.text() : res.json();
  }

  logTail(n = 40): string {
    return this.proc?.logTail(n) ?? '';
  }
}

export interface IstioEnv {
  api: ApiServer;
  cluster: IstioCluster;
  meshscope: Meshscope;
  stop(): Promise<void>;
}

/** API server, istiod with the ALS providers, the meshscope Services and the Telemetry resource; meshscope not started yet. */
export async function startIstioEnv(): Promise<IstioEnv> {
  const api = await startApiServer();
  let cluster: IstioCluster | undefined;
  try {
    cluster = await IstioCluster.start(api, { meshConfig: MESH_CONFIG });
    const nodeIp = cluster.net.nodeIp;
    const ports = { http: await freePort(nodeIp), als: await freePort(nodeIp), gateway: await freePort(nodeIp) };
    // Cleartext HTTP/2 toward the gateway: h2c and gRPC callers keep their protocol, HTTP/1.1 ones are carried over it.
    const gw: ServiceSpec = { ...GATEWAY_SERVICE, ports: [{ name: 'http2-gateway', port: GATEWAY_SERVICE.port, targetPort: ports.gateway, appProtocol: 'http2' }] };
    const als: ServiceSpec = { name: 'meshscope-analyzer', namespace: 'meshscope', ports: [{ name: 'grpc-als', port: ALS_SERVICE_PORT, targetPort: ports.als, appProtocol: 'grpc' }] };
    for (const svc of [gw, als]) {
      await cluster.applyService(svc);
      await cluster.setEndpoints(svc, [{ ip: nodeIp }]);
    }
    await api.apply(JSON.stringify(TELEMETRY));
    const env: IstioEnv = {
      api,
      cluster,
      meshscope: undefined as unknown as Meshscope,
      async stop() {
        await env.meshscope.stop();
        await cluster!.stop();
        await api.stop();
        if (!process.env.MESHSCOPE_KEEP_TMP) fs.rmSync(env.meshscope.dataDir, { recursive: true, force: true });
      },
    };
    env.meshscope = new Meshscope(env, ports);
    return env;
  } catch (err) {
    await cluster?.stop();
    await api.stop();
    throw err;
  }
}

/** One pod of a Deployment `app-version`, running the test app with these dependencies. */
export function appPod(app: string, version: string, podName: string, env: Record<string, string> = {}): PodSpec {
  return {
    name: podName,
    namespace: 'default',
    labels: { app, version },
    serviceAccount: `bookinfo-${app}`,
    deployment: `${app}-${version}`,
    app: { script: APP, env: { PORT: '9080', ...env } },
  };
}

/** GET through a pod's own app: `/call?url=…` makes one outbound call from inside the pod. */
export async function callFrom(pod: Pod, url: string, protocol = 'http'): Promise<any> {
  const r = await pod.exec('curl', ['-sS', '--max-time', '30', `http://127.0.0.1:9080/call?url=${encodeURIComponent(url)}&protocol=${protocol}`], 40_000);
  if (r.code !== 0) throw new Error(`call from ${pod.id} to ${url}: curl exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** GET on a pod's app from the node (inbound through its sidecar). */
export async function getApp(pod: Pod, p: string, port = 9080): Promise<any> {
  const res = await fetch(`http://${pod.ip}:${port}${p}`, { signal: AbortSignal.timeout(30_000) });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** Outbound service clusters of a pod's Envoy, leaving out Istio's own and meshscope's (always visible). */
export async function serviceClusters(pod: Pod): Promise<string[]> {
  return (await pod.clusterNames()).filter(
    (c) => c.startsWith('outbound|') && !c.endsWith('.istio-system.svc.cluster.local') && !c.endsWith('.meshscope.svc.cluster.local'),
  );
}

export async function waitFor(pred: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  await waitUntil(pred, what, timeoutMs, { intervalMs: 200 });
}
