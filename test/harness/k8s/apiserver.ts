// A real Kubernetes control plane for tests: etcd (Debian's etcd-server) and
// kube-apiserver v1.37 built from k8s.io/kubernetes, on free loopback ports,
// with an admin token, RBAC on and the Istio CRDs applied. There is no kubelet
// and no controller manager: tests write Pods and EndpointSlices themselves
// (workloads.ts).
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { progress } from "../install.js";
import { freePort } from "../ports.js";
import { ManagedProcess, makeTempDir } from "../proc.js";
import { waitUntil } from "../wait.js";
import { binaryPath, ensureBinaries, ensureIstioCrds, etcdPath } from "./binaries.js";

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ApiServer {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Bearer token of a system:masters user. */
  readonly token: string;
  /** A kubeconfig file for that user (insecure-skip-tls-verify: the serving cert is self-signed). */
  readonly kubeconfig: string;
  /** The folder holding logs, pki and etcd data (kept when MESHSCOPE_KEEP_TMP=1). */
  readonly dir: string;
  /** The service-account signing key pair, for components that verify tokens themselves. */
  readonly serviceAccountKey: { privatePem: string; publicPem: string };
  /** Runs kubectl against this server; rejects on a non-zero exit unless allowFail. */
  kubectl(args: string[], opts?: { input?: string; allowFail?: boolean; timeoutMs?: number }): Promise<KubectlResult>;
  /** `kubectl apply --server-side --force-conflicts -f -` of a YAML/JSON document stream. */
  apply(manifest: string): Promise<void>;
  /** A raw REST call with the admin token; JSON body in and out. */
  request(method: string, urlPath: string, body?: unknown, contentType?: string): Promise<{ status: number; body: any }>;
  /** Stops and starts kube-apiserver on the same port and etcd: watches break, data stays. */
  restart(): Promise<void>;
  /** Stops kube-apiserver and etcd; removes the folder unless MESHSCOPE_KEEP_TMP=1. */
  stop(): Promise<void>;
}

export interface ApiServerOptions {
  /** Apply the Istio CRDs (default true). */
  istioCrds?: boolean;
}

/** kubectl: the one built with kube-apiserver when present (matching version), else the one on PATH. */
export function kubectlPath(): string {
  const built = binaryPath("kubectl");
  return fs.existsSync(built) ? built : "kubectl";
}

export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  await ensureBinaries("kube-apiserver");
  const crds = opts.istioCrds === false ? undefined : await ensureIstioCrds();
  const dir = makeTempDir("k8s");
  const pki = path.join(dir, "pki");
  fs.mkdirSync(pki);

  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  fs.writeFileSync(path.join(pki, "sa.key"), privateKey, { mode: 0o600 });
  fs.writeFileSync(path.join(pki, "sa.pub"), publicKey);
  const token = randomBytes(24).toString("hex");
  fs.writeFileSync(path.join(pki, "tokens.csv"), `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });

  const [etcdClient, etcdPeer, port] = [await freePort(), await freePort(), await freePort()];
  const url = `https://127.0.0.1:${port}`;
  const insecure = new https.Agent({ rejectUnauthorized: false, keepAlive: true });
  const kubeconfig = path.join(dir, "kubeconfig");
  fs.writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{name: local, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]`,
      `users: [{name: admin, user: {token: ${token}}}]`,
      "contexts: [{name: local, context: {cluster: local, user: admin}}]",
      "current-context: local",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );

  const etcd = new ManagedProcess(
    "etcd",
    etcdPath(),
    [
      "--name", "meshscope-test",
      "--data-dir", path.join(dir, "etcd-data"),
      "--listen-client-urls", `http://127.0.0.1:${etcdClient}`,
      "--advertise-client-urls", `http://127.0.0.1:${etcdClient}`,
      "--listen-peer-urls", `http://127.0.0.1:${etcdPeer}`,
      "--initial-advertise-peer-urls", `http://127.0.0.1:${etcdPeer}`,
      "--initial-cluster", `meshscope-test=http://127.0.0.1:${etcdPeer}`,
    ],
    path.join(dir, "etcd.log"),
  );
  await waitUntil(
    async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok,
    "etcd /health",
    30_000,
    { abort: () => etcd.deadReason() },
  ).catch((err) => {
    throw etcd.failure((err as Error).message);
  });

  const apiserverArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    "--advertise-address=127.0.0.1",
    // a loopback advertise address is refused by the endpoint reconciler
    "--endpoint-reconciler-type=none",
    `--cert-dir=${path.join(pki, "serving")}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${path.join(pki, "sa.pub")}`,
    `--service-account-signing-key-file=${path.join(pki, "sa.key")}`,
    // istiod's CA verifies pod tokens minted for the istio-ca audience
    "--api-audiences=https://kubernetes.default.svc.cluster.local,istio-ca",
    `--token-auth-file=${path.join(pki, "tokens.csv")}`,
    "--authorization-mode=RBAC",
    "--service-cluster-ip-range=10.96.0.0/16",
    "--allow-privileged=true",
    "--profiling=false",
  ];
  let apiserver: ManagedProcess;
  let generation = 0;
  const launch = async (): Promise<void> => {
    generation += 1;
    apiserver = new ManagedProcess("kube-apiserver", binaryPath("kube-apiserver"), apiserverArgs, path.join(dir, `apiserver-${generation}.log`));
    const started = Date.now();
    await waitUntil(
      async () => (await request("GET", "/readyz")).status === 200,
      `kube-apiserver ${url}/readyz`,
      180_000,
      { abort: () => apiserver.deadReason(), intervalMs: 200 },
    ).catch((err) => {
      throw apiserver.failure((err as Error).message);
    });
    progress(`kube-apiserver ready at ${url} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };

  const request = (method: string, urlPath: string, body?: unknown, contentType = "application/json") =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
      const req = https.request(
        `${url}${urlPath}`,
        {
          method,
          agent: insecure,
          headers: {
            authorization: `Bearer ${token}`,
            accept: "application/json",
            ...(data === undefined ? {} : { "content-type": contentType, "content-length": Buffer.byteLength(data) }),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c) => (text += c));
          res.on("end", () => {
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // readyz and friends answer plain text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.once("error", reject);
      req.end(data);
    });

  const kubectl = (args: string[], o: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}) =>
    new Promise<KubectlResult>((resolve, reject) => {
      const child = spawn(kubectlPath(), ["--kubeconfig", kubeconfig, ...args], { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 120_000);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run kubectl: ${err.message}`));
      });
      child.once("close", (code) => {
        clearTimeout(timer);
        if (code !== 0 && !o.allowFail) reject(new Error(`kubectl ${args.join(" ")} exited with ${code}\n${stdout}${stderr}`));
        else resolve({ code, stdout, stderr });
      });
      child.stdin.end(o.input ?? "");
    });

  try {
    await launch();
    if (crds) {
      await kubectl(["apply", "--server-side", "--force-conflicts", "-f", crds]);
      await kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"]);
    }
  } catch (err) {
    await apiserver!?.stop(5_000);
    await etcd.stop(5_000);
    throw err;
  }

  return {
    url,
    port,
    token,
    kubeconfig,
    dir,
    serviceAccountKey: { privatePem: privateKey, publicPem: publicKey },
    kubectl,
    request,
    async apply(manifest: string) {
      await kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"], { input: manifest });
    },
    async restart() {
      await apiserver.stop(15_000);
      await launch();
    },
    async stop() {
      await apiserver.stop(15_000);
      await etcd.stop(10_000);
      insecure.destroy();
      if (process.env.MESHSCOPE_KEEP_TMP !== "1") fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
