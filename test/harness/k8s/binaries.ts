// Paths of the Kubernetes and Istio binaries the Istio tests run. They are
// built from the Go module proxy by build-binaries.sh on first use (cold: ~20
// min on 2 cores) and cached per version under ~/.cache/meshscope.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cacheDir, progress, withLock } from "../install.js";

const here = path.dirname(fileURLToPath(import.meta.url));

export type K8sBinary = "kube-apiserver" | "kubectl" | "pilot-discovery" | "pilot-agent" | "helm";

/** The Istio CRDs (fetched with the istio.io/istio module; no build needed). */
export async function ensureIstioCrds(): Promise<string> {
  const file = path.join(istioDir(), "crd-all.gen.yaml");
  if (!fs.existsSync(file)) await runBuild(["istio-files"]);
  return file;
}

export const versions: Record<string, string> = Object.fromEntries(
  fs
    .readFileSync(path.join(here, "versions.env"), "utf8")
    .split("\n")
    .filter((l) => /^[A-Z0-9_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()]),
);

/** Where build-binaries.sh leaves each binary (keep in step with the script). */
export function binaryPath(name: K8sBinary): string {
  const v = versions;
  switch (name) {
    case "kube-apiserver":
    case "kubectl":
      return path.join(cacheDir(), `kubernetes-${v.K8S_VERSION}`, "bin", name);
    case "pilot-discovery":
    case "pilot-agent":
      return path.join(istioDir(), "bin", name);
    case "helm":
      return path.join(cacheDir(), `helm-${v.HELM_VERSION}`, "bin", "helm");
  }
}

/** The Istio build folder: bin/, crd-all.gen.yaml and envoy_bootstrap.json (pilot-agent's template). */
export function istioDir(): string {
  const v = versions;
  return path.join(cacheDir(), `istio-${v.ISTIO_VERSION_LABEL}-${v.ISTIO_VERSION_PSEUDO.split("-").at(-1)}`);
}

/** Builds whatever of `names` is not cached yet, one build at a time across test processes. */
export async function ensureBinaries(...names: K8sBinary[]): Promise<void> {
  const missing = () => names.filter((n) => !fs.existsSync(binaryPath(n)));
  if (missing().length === 0) return;
  await runBuild(names, missing);
  const still = missing();
  if (still.length) throw new Error(`build-binaries.sh finished but ${still.map(binaryPath).join(", ")} is missing`);
}

async function runBuild(targets: string[], missing: () => string[] = () => targets): Promise<void> {
  await withLock(
    path.join(cacheDir(), "k8s-build"),
    async () => {
      const todo = missing();
      if (todo.length === 0) return;
      progress(`building ${todo.join(", ")} from the Go module proxy (cold: up to ~20 min on 2 cores; cached afterwards)`);
      await new Promise<void>((resolve, reject) => {
        const child = spawn("bash", [path.join(here, "build-binaries.sh"), ...todo], { stdio: ["ignore", "inherit", "inherit"] });
        child.once("error", (err) => reject(new Error(`cannot run build-binaries.sh: ${err.message}`)));
        child.once("exit", (code) =>
          code === 0 ? resolve() : reject(new Error(`build-binaries.sh ${todo.join(" ")} exited with ${code}; needs Go >= 1.26 and the Go module proxy`)),
        );
      });
    },
    60 * 60_000,
  );
}

/** Debian's etcd-server (apt-get install etcd-server); .ci/run installs it. */
export function etcdPath(): string {
  for (const p of [process.env.MESHSCOPE_ETCD, "/usr/bin/etcd", "/usr/local/bin/etcd"]) if (p && fs.existsSync(p)) return p;
  throw new Error("etcd not found: apt-get install etcd-server (or set MESHSCOPE_ETCD to an etcd binary)");
}
