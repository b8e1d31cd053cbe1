// istiod (pilot-discovery) on free ports, against the harness' API server,
// with what upstream Envoy needs (no istio-proxy-only filters) and a fast
// debounce so a config change reaches the proxies in milliseconds.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ManagedProcess, makeTempDir } from '../proc.ts';
import { freePort } from '../ports.ts';
import { waitUntil } from '../wait.ts';
import type { ApiServer } from './apiserver.ts';
import { binaryPath, ensureBinaries } from './binaries.ts';

/** What the Istio harness needs of the API server harness: kubectl for istiod's own setup, REST for objects (workloads.ts). */
export type KubeAccess = Pick<ApiServer, 'kubeconfig' | 'kubectl' | 'request'>;

export interface IstiodOptions {
  /** Address the pods reach istiod on (the node side of their bridge); the debug/HTTP ports stay on loopback. */
  podFacingHost: string;
  /** Merged into the mesh config (e.g. extensionProviders, defaultProviders, outboundTrafficPolicy). */
  meshConfig?: Record<string, unknown>;
  /** Extra environment (feature flags). */
  env?: Record<string, string>;
}

export interface SyncStatus {
  proxy: string;
  cluster_sent?: string;
  cluster_acked?: string;
  listener_sent?: string;
  listener_acked?: string;
  route_sent?: string;
  route_acked?: string;
  endpoint_sent?: string;
  endpoint_acked?: string;
}

export class Istiod {
  private constructor(
    readonly proc: ManagedProcess,
    readonly dir: string,
    /** `host:port` of istiod's mTLS xDS + CA port, as the pods must dial it (hostname istiod.istio-system.svc). */
    readonly securePort: number,
    readonly podFacingHost: string,
    readonly httpUrl: string,
    readonly meshConfigPath: string,
  ) {}

  static async start(kube: KubeAccess, opts: IstiodOptions): Promise<Istiod> {
    await ensureBinaries('pilot-discovery', 'pilot-agent');
    const dir = makeTempDir('istiod');
    const [http, grpc, secure, monitoring, https] = await Promise.all([
      freePort(), freePort(), freePort(opts.podFacingHost), freePort(), freePort(),
    ]);
    const mesh = {
      enableTracing: false,
      rootNamespace: 'istio-system',
      trustDomain: 'cluster.local',
      defaultConfig: { discoveryAddress: `istiod.istio-system.svc:${secure}` },
      ...opts.meshConfig,
    };
    const meshConfigPath = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(meshConfigPath, YAML.stringify(mesh));
    await kube.kubectl(['create', 'namespace', 'istio-system'], { allowFail: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      POD_NAMESPACE: 'istio-system',
      POD_NAME: 'istiod-harness',
      REVISION: 'default',
      // Filters that exist only in Istio's own Envoy build (istio-proxy).
      PILOT_ENABLE_ALPN_FILTER: 'false',
      PILOT_ENABLE_METADATA_EXCHANGE: 'false',
      PILOT_ENABLE_GATEWAY_API: 'false',
      PILOT_ENABLE_GATEWAY_API_STATUS: 'false',
      PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER: 'false',
      INJECTION_WEBHOOK_CONFIG_NAME: '',
      VALIDATION_WEBHOOK_CONFIG_NAME: '',
      ISTIOD_CUSTOM_HOST: 'localhost',
      // Default 100 ms; the tests measure time-to-direct, which this adds to.
      PILOT_DEBOUNCE_AFTER: '10ms',
      ...opts.env,
    };
    // istiod resolves ./var/run/secrets/... and ./etc/cacerts against its cwd.
    const proc = new ManagedProcess('istiod', binaryPath('pilot-discovery'), [
      'discovery',
      '--kubeconfig', kube.kubeconfig,
      '--meshConfig', meshConfigPath,
      '--clusterID', 'Kubernetes',
      '--domain', 'cluster.local',
      '--httpAddr', `127.0.0.1:${http}`,
      '--grpcAddr', `127.0.0.1:${grpc}`,
      '--secureGRPCAddr', `${opts.podFacingHost}:${secure}`,
      '--monitoringAddr', `127.0.0.1:${monitoring}`,
      '--httpsAddr', `127.0.0.1:${https}`,
      '--log_output_level', 'default:warn',
    ], path.join(dir, 'istiod.log'), { cwd: dir, env });
    const istiod = new Istiod(proc, dir, secure, opts.podFacingHost, `http://127.0.0.1:${http}`, meshConfigPath);
    try {
      await waitUntil(async () => (await fetch(`${istiod.httpUrl}/ready`)).status === 200, 'istiod /ready', 120_000, {
        abort: () => proc.deadReason(),
      });
    } catch (err) {
      await proc.stop(5_000);
      throw proc.failure(`istiod did not become ready: ${(err as Error).message}`);
    }
    return istiod;
  }

  /** The CA root every namespace gets from istiod (configmap istio-ca-root-cert). */
  async rootCert(kube: KubeAccess, namespace: string): Promise<string> {
    let pem = '';
    await waitUntil(async () => {
      pem = (await kube.kubectl(['-n', namespace, 'get', 'cm', 'istio-ca-root-cert', '-o', 'jsonpath={.data.root-cert\\.pem}'], { allowFail: true })).stdout;
      return pem.includes('BEGIN CERTIFICATE');
    }, `istio-ca-root-cert in namespace ${namespace}`, 30_000, { abort: () => this.proc.deadReason() });
    return pem;
  }

  /** istiod's per-proxy xDS versions sent and ACKed (/debug/syncz). */
  async syncz(): Promise<SyncStatus[]> {
    const res = await fetch(`${this.httpUrl}/debug/syncz`);
    if (res.status !== 200) throw new Error(`istiod /debug/syncz: HTTP ${res.status}`);
    return (await res.json()) as SyncStatus[];
  }

  logTail(n = 40): string {
    return this.proc.logTail(n);
  }

  async stop(): Promise<void> {
    await this.proc.stop(10_000);
    if (!process.env.MESHSCOPE_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
