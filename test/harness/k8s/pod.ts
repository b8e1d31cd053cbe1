// A pod without a kubelet: its objects in the API server (Deployment →
// ReplicaSet → Pod, status Running with its IP), a network namespace, the
// app process (uid 1000), Istio's own iptables capture and pilot-agent +
// upstream Envoy as uid 1337 with a service-account token for istiod's CA —
// what the sidecar injector and the kubelet would have set up.
import fs from 'node:fs';
import path from 'node:path';
import { ManagedProcess, makeTempDir } from '../proc.ts';
import { run } from '../install.ts';
import { waitUntil } from '../wait.ts';
import { createPod, createServiceAccount, putReplicaSet, serviceAccountToken, type Kube } from './workloads.ts';

export const PROXY_UID = 1337;
export const APP_UID = 1000;

export interface PodSpec {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  /** The Deployment that owns the pod (through a ReplicaSet); default: the pod name minus its last two dash parts. */
  deployment?: string;
  /** The app: a Node script run as uid APP_UID inside the pod, with its env. */
  app?: { script: string; args?: string[]; env?: Record<string, string> };
  /** Start pilot-agent + Envoy and the iptables capture (default true). */
  sidecar?: boolean;
}

/** What a pod needs from the cluster harness around it. */
export interface PodContext {
  kube: Kube;
  /** Copies of pilot-agent and Envoy that uid 1337 may execute. */
  pilotAgent: string;
  envoy: string;
  bootstrapTemplate: string;
  /** `istiod.istio-system.svc:PORT` */
  discoveryAddress: string;
  rootCert(namespace: string): Promise<string>;
}

export class Pod {
  app: ManagedProcess | undefined;
  agent: ManagedProcess | undefined;

  constructor(
    readonly spec: PodSpec,
    readonly netns: string,
    readonly ip: string,
    readonly dir: string,
  ) {}

  get id(): string {
    return `${this.spec.name}.${this.spec.namespace}`;
  }

  get deployment(): string {
    return this.spec.deployment ?? this.spec.name.split('-').slice(0, -2).join('-');
  }

  /** Writes Deployment, ReplicaSet and Pod, then the Pod's status (Running, Ready, podIP). */
  async publish(kube: Kube): Promise<void> {
    const { name, namespace, labels, serviceAccount } = this.spec;
    const hash = name.split('-').at(-2)!;
    const owner = await putReplicaSet(kube, { namespace, deployment: this.deployment, hash, labels });
    await createServiceAccount(kube, namespace, serviceAccount);
    const sidecar = this.spec.sidecar !== false;
    await createPod(kube, {
      namespace, name, ip: this.ip, serviceAccount, owner,
      // What the ReplicaSet controller and Istio's injector stamp on a pod.
      labels: { ...labels, 'pod-template-hash': hash, ...(sidecar ? { 'security.istio.io/tlsMode': 'istio' } : {}) },
      containers: sidecar ? ['app', 'istio-proxy'] : ['app'],
    });
  }

  /** Istio's capture: outbound TCP to 15001, inbound to 15006, uid 1337 exempt. */
  async capture(pilotAgent: string): Promise<void> {
    await run('ip', ['netns', 'exec', this.netns, pilotAgent, 'istio-iptables',
      '-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', 'REDIRECT',
      '-i', '*', '-b', '*', '-d', '15090,15021,15020'], { timeoutMs: 60_000 });
  }

  /** Token, root cert and bootstrap template where pilot-agent looks for them (relative to its cwd), then the agent. */
  async startSidecar(ctx: PodContext): Promise<void> {
    const { name, namespace, serviceAccount, labels } = this.spec;
    const sub = (p: string) => {
      const full = path.join(this.dir, p);
      fs.mkdirSync(full, { recursive: true });
      return full;
    };
    const token = await serviceAccountToken(ctx.kube, namespace, serviceAccount, 'istio-ca');
    fs.writeFileSync(path.join(sub('var/run/secrets/tokens'), 'istio-token'), token);
    fs.writeFileSync(path.join(sub('var/run/secrets/istio'), 'root-cert.pem'), await ctx.rootCert(namespace));
    fs.copyFileSync(ctx.bootstrapTemplate, path.join(sub('var/lib/istio/envoy'), 'envoy_bootstrap_tmpl.json'));
    sub('etc/istio/proxy');
    sub('var/lib/istio/data');
    await run('chown', ['-R', `${PROXY_UID}:${PROXY_UID}`, this.dir]);
    await this.capture(ctx.pilotAgent);
    const dep = this.deployment;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: this.dir,
      POD_NAME: name,
      POD_NAMESPACE: namespace,
      INSTANCE_IP: this.ip,
      SERVICE_ACCOUNT: serviceAccount,
      JWT_POLICY: 'third-party-jwt',
      CA_ADDR: ctx.discoveryAddress,
      TRUST_DOMAIN: 'cluster.local',
      ISTIO_META_CLUSTER_ID: 'Kubernetes',
      ISTIO_META_MESH_ID: 'cluster.local',
      ISTIO_META_INTERCEPTION_MODE: 'REDIRECT',
      ISTIO_META_WORKLOAD_NAME: dep,
      ISTIO_META_APP_CONTAINERS: 'app',
      ISTIO_META_OWNER: `kubernetes://apis/apps/v1/namespaces/${namespace}/deployments/${dep}`,
      ISTIO_METAJSON_LABELS: JSON.stringify(labels),
      PROXY_CONFIG: JSON.stringify({
        discoveryAddress: ctx.discoveryAddress,
        binaryPath: ctx.envoy,
        configPath: './etc/istio/proxy',
        concurrency: 1,
        drainDuration: '1s',
        terminationDrainDuration: '1s',
      }),
    };
    this.agent = new ManagedProcess(`pilot-agent ${this.id}`, 'ip', [
      'netns', 'exec', this.netns,
      'setpriv', `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups',
      ctx.pilotAgent, 'proxy', 'sidecar', '--domain', `${namespace}.svc.cluster.local`, '--proxyLogLevel=warning',
    ], path.join(this.dir, 'agent.log'), { cwd: this.dir, env });
  }

  startApp(): void {
    const app = this.spec.app;
    if (!app) return;
    this.app = new ManagedProcess(`app ${this.id}`, 'ip', [
      'netns', 'exec', this.netns,
      'setpriv', `--reuid=${APP_UID}`, `--regid=${APP_UID}`, '--clear-groups',
      process.execPath, app.script, ...(app.args ?? []),
    ], path.join(this.dir, 'app.log'), { env: { PATH: process.env.PATH, POD_NAME: this.spec.name, POD_NAMESPACE: this.spec.namespace, POD_IP: this.ip, ...app.env } });
  }

  /** Runs a command inside the pod's network namespace (as root). */
  async exec(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return run('ip', ['netns', 'exec', this.netns, cmd, ...args], { allowFail: true, timeoutMs });
  }

  /** GET on the pod's Envoy admin (127.0.0.1:15000 inside the pod). */
  async envoyAdmin(p: string): Promise<string> {
    const r = await this.exec('curl', ['-sS', '--max-time', '15', `http://127.0.0.1:15000${p}`]);
    if (r.code !== 0) throw new Error(`envoy admin ${p} in ${this.id}: ${r.stderr.trim() || `curl exited ${r.code}`}`);
    return r.stdout;
  }

  /** Names of the clusters Envoy holds (from /clusters). */
  async clusterNames(): Promise<string[]> {
    const body = JSON.parse(await this.envoyAdmin('/clusters?format=json')) as { cluster_statuses?: Array<{ name: string }> };
    return (body.cluster_statuses ?? []).map((c) => c.name).sort();
  }

  /** Until pilot-agent reports Envoy ready (LDS and CDS received). */
  async waitReady(timeoutMs = 90_000): Promise<void> {
    const agent = this.agent;
    if (!agent) return;
    try {
      await waitUntil(async () => {
        const r = await this.exec('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', 'http://127.0.0.1:15021/healthz/ready']);
        return r.stdout.trim() === '200';
      }, `sidecar of ${this.id} ready`, timeoutMs, { intervalMs: 250, abort: () => agent.deadReason() });
    } catch (err) {
      throw agent.failure((err as Error).message);
    }
  }

  logs(n = 30): string {
    return [this.agent && `--- agent ${this.id}\n${this.agent.logTail(n)}`, this.app && `--- app ${this.id}\n${this.app.logTail(n)}`]
      .filter(Boolean)
      .join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all([this.app?.stop(3_000), this.agent?.stop(3_000)]);
  }
}
