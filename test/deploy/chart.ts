// The Helm chart as the deploy tests use it: real Helm (built from the Go
// module proxy by test/harness/k8s/build-binaries.sh), rendered to the
// documents kubectl and the assertions read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { run, type RunResult } from '../harness/install.ts';
import { binaryPath, ensureBinaries } from '../harness/k8s/binaries.ts';
import { kubectlPath } from '../harness/k8s/apiserver.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const CHART = join(ROOT, 'deploy/helm/meshscope');

export async function helmBinary(): Promise<string> {
  await ensureBinaries('helm');
  return binaryPath('helm');
}

let helmHome: string | undefined;

/** Helm with its own cache/config folders (never the user's; one per test process, removed at exit), and kubectl from the harness first on PATH. */
export function toolEnv(kubeconfig?: string): NodeJS.ProcessEnv {
  if (!helmHome) {
    const dir = mkdtempSync(join(tmpdir(), 'meshscope-helm-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    helmHome = dir;
  }
  const home = helmHome;
  const kubectlDir = kubectlPath() === 'kubectl' ? [] : [dirname(kubectlPath())];
  return {
    ...process.env,
    PATH: [dirname(binaryPath('helm')), ...kubectlDir, process.env.PATH].join(':'),
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}),
  };
}

export async function helm(args: string[], opts: { kubeconfig?: string; allowFail?: boolean } = {}): Promise<RunResult> {
  return run(await helmBinary(), args, { env: toolEnv(opts.kubeconfig), allowFail: opts.allowFail, timeoutMs: 120_000 });
}

export interface Rendered {
  text: string;
  docs: any[];
  /** The one document of this kind (and name, when given). */
  one(kind: string, name?: string): any;
}

export async function render(release: string, namespace: string, set: string[] = []): Promise<Rendered> {
  const { stdout } = await helm(['template', release, CHART, '-n', namespace, ...set.flatMap((s) => ['--set', s])]);
  const docs = parseAllDocuments(stdout).map((d) => d.toJS()).filter(Boolean);
  return {
    text: stdout,
    docs,
    one(kind, name) {
      const found = docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));
      if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''} in the rendered chart, found ${found.length}`);
      return found[0];
    },
  };
}
