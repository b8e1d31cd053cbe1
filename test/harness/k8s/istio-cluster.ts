// A node of an Istio cluster on this machine: the pod network, istiod, pods
// with sidecars, Services with their EndpointSlices — all against the API
// server harness. There is no kubelet, no kube-proxy and no DNS: the harness
// writes what they would (Pod status, EndpointSlices, /etc/hosts per pod).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureEnvoy } from '../envoy.ts';
import { progress } from '../install.ts';
import { binaryPath, ensureBinaries, istioDir } from './binaries.ts';
import { Istiod, type KubeAccess } from './istiod.ts';
import { Pod, type PodContext, type PodSpec } from './pod.ts';
import { PodNetwork } from './pod-network.ts';
import { createNamespace, deletePod, putEndpointSlice, putService, type ServiceSpec as WorkloadServiceSpec } from './workloads.ts';

export interface ServicePortSpec {
  name: string;
  port: number;
  targetPort: number;
  appProtocol?: string;
}

/** Pods are selected by `selector` (EndpointSlices are written by setEndpoints, not a controller). */
export interface ServiceSpec extends WorkloadServiceSpec {
  ports: ServicePortSpec[];
}

/**
 * A copy of `bin` that a non-root uid can execute: the cache lives under
 * /root (mode 0700). A hard link costs nothing when /tmp shares the file system.
 */
function exposeBinary(bin: string, dir: string): string {
  const out = path.join(dir, path.basename(bin));
  try {
    fs.linkSync(bin, out);
  } catch {
    fs.copyFileSync(bin, out);
  }
  fs.chmodSync(out, 0o755);
  return out;
}

export interface IstioClusterOptions {
  /** The API server's --service-cluster-ip-range (apiserver.ts: 10.96.0.0/16). */
  serviceCidr?: string;
  meshConfig?: Record<string, unknown>;
  istiodEnv?: Record<string, string>;
}

export class IstioCluster {
  readonly pods = new Map<string, Pod>();
  private readonly clusterIps = new Map<string, string>();

  private constructor(
    readonly kube: KubeAccess,
    readonly net: PodNetwork,
    readonly istiod: Istiod,
    private readonly ctx: PodContext,
    private readonly binDir: string,
  ) {}

  static async start(kube: KubeAccess, opts: IstioClusterOptions): Promise<IstioCluster> {
    const [, envoy] = await Promise.all([ensureBinaries('pilot-discovery', 'pilot-agent'), ensureEnvoy()]);
    const net = await PodNetwork.create(opts.serviceCidr ?? '10.96.0.0/16');
    let istiod: Istiod | undefined;
    try {
      progress(`pod network ${net.subnet} on bridge ${net.bridge}; starting istiod`);
      istiod = await Istiod.start(kube, { podFacingHost: net.nodeIp, meshConfig: opts.meshConfig, env: opts.istiodEnv });
      // uid 1337 cannot traverse /root, where the binaries are cached.
      const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshscope-podbin-'));
      fs.chmodSync(binDir, 0o755);
      const started = istiod;
      const ctx: PodContext = {
        kube,
        pilotAgent: exposeBinary(binaryPath('pilot-agent'), binDir),
        envoy: exposeBinary(envoy, binDir),
        bootstrapTemplate: path.join(istioDir(), 'envoy_bootstrap.json'),
        discoveryAddress: `istiod.istio-system.svc:${istiod.securePort}`,
        rootCert: (ns) => started.rootCert(kube, ns),
      };
      return new IstioCluster(kube, net, istiod, ctx, binDir);
    } catch (err) {
      await istiod?.stop();
      await net.stop();
      throw err;
    }
  }

  /** /etc/hosts of a pod: istiod on the node, every Service by each name a pod may use. */
  private hosts(): string {
    const lines = ['127.0.0.1 localhost', `${this.net.nodeIp} istiod.istio-system.svc`];
    for (const [id, ip] of this.clusterIps) {
      const [name, ns] = id.split('/');
      lines.push(`${ip} ${name}.${ns}.svc.cluster.local ${name}.${ns}.svc ${name}.${ns}`);
    }
    return lines.join('\n') + '\n';
  }

  /** Short names resolve in the pod's own namespace, like a cluster's DNS search path. */
  private hostsFor(namespace: string): string {
    const short = [...this.clusterIps]
      .filter(([id]) => id.endsWith(`/${namespace}`))
      .map(([id, ip]) => `${ip} ${id.split('/')[0]}`);
    return this.hosts() + short.join('\n') + (short.length ? '\n' : '');
  }

  private refreshHosts(): void {
    for (const pod of this.pods.values()) this.net.setHosts(pod.netns, this.hostsFor(pod.spec.namespace));
  }

  async ensureNamespace(namespace: string): Promise<void> {
    await createNamespace(this.kube, namespace);
  }

  /** Creates or updates a Service; returns its clusterIP. */
  async applyService(svc: ServiceSpec): Promise<string> {
    await this.ensureNamespace(svc.namespace);
    const { clusterIP: ip } = await putService(this.kube, { ...svc, labels: svc.labels ?? { app: svc.name } });
    this.clusterIps.set(`${svc.name}/${svc.namespace}`, ip);
    this.refreshHosts();
    return ip;
  }

  clusterIp(name: string, namespace: string): string | undefined {
    return this.clusterIps.get(`${name}/${namespace}`);
  }

  /** The Service's EndpointSlice, as the endpointslice controller would write it. */
  async setEndpoints(svc: ServiceSpec, endpoints: Array<{ ip: string; pod?: Pod }>): Promise<void> {
    await putEndpointSlice(
      this.kube,
      svc,
      endpoints.map((e) => ({ ip: e.ip, name: e.pod?.spec.name })),
      svc.ports.map((p) => ({ name: p.name, port: p.targetPort, appProtocol: p.appProtocol })),
    );
  }

  /** A Service whose endpoints are the pods it selects (among the harness' pods). */
  async applyServiceFor(svc: ServiceSpec): Promise<string> {
    const ip = await this.applyService(svc);
    const sel = svc.selector ?? { app: svc.name };
    const pods = [...this.pods.values()].filter(
      (p) => p.spec.namespace === svc.namespace && Object.entries(sel).every(([k, v]) => p.spec.labels[k] === v),
    );
    await this.setEndpoints(svc, pods.map((pod) => ({ ip: pod.ip, pod })));
    return ip;
  }

  /** A pod: namespace, objects, capture, sidecar (waits until ready), app. */
  async addPod(spec: PodSpec): Promise<Pod> {
    await this.ensureNamespace(spec.namespace);
    const { netns, ip } = await this.net.addNamespace(spec.name, this.hostsFor(spec.namespace));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `meshscope-pod-${spec.name}-`));
    fs.chmodSync(dir, 0o755);
    const pod = new Pod(spec, netns, ip, dir);
    this.pods.set(pod.id, pod);
    await pod.publish(this.kube);
    if (spec.sidecar !== false) await pod.startSidecar(this.ctx);
    pod.startApp();
    return pod;
  }

  /** Starts several pods, then waits for all their sidecars (the starts overlap). */
  async addPods(specs: PodSpec[]): Promise<Pod[]> {
    const pods: Pod[] = [];
    for (const spec of specs) pods.push(await this.addPod(spec));
    await Promise.all(pods.map((p) => p.waitReady()));
    return pods;
  }

  /** Removes a pod's processes, namespace and objects. */
  async removePod(pod: Pod): Promise<void> {
    await pod.stop();
    await this.net.removeNamespace(pod.netns);
    await deletePod(this.kube, pod.spec.namespace, pod.spec.name);
    this.pods.delete(pod.id);
    if (!process.env.MESHSCOPE_KEEP_TMP) fs.rmSync(pod.dir, { recursive: true, force: true });
  }

  logs(n = 30): string {
    return [...this.pods.values()].map((p) => p.logs(n)).join('\n') + `\n--- istiod\n${this.istiod.logTail(n)}`;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.pods.values()].map((p) => p.stop()));
    await this.istiod.stop();
    await this.net.stop();
    if (!process.env.MESHSCOPE_KEEP_TMP) {
      for (const pod of this.pods.values()) fs.rmSync(pod.dir, { recursive: true, force: true });
      fs.rmSync(this.binDir, { recursive: true, force: true });
    }
  }
}
