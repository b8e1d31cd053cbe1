// The real `meshscope` command line as separate processes: the analyzer (with
// its in-process gateway), and the bootstrap a sidecar starts from.
import { join } from 'node:path';
import { run } from '../../harness/install.ts';
import { ManagedProcess } from '../../harness/proc.ts';
import { waitUntil } from '../../harness/wait.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'meshscope.mjs');
// Node flags for the analyzer process only (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes).
const NODE_ARGS = process.env.MESHSCOPE_ANALYZER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];

export interface Ports {
  http: number;
  als: number;
  xds: number;
  gateway?: number;
  'gateway-admin'?: number;
}

export interface AnalyzerProcess {
  proc: ManagedProcess;
  ports: Ports;
  /** GET on the analyzer's HTTP API: JSON, or text for /metrics. */
  api<T = any>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/** Starts `meshscope analyzer ARGS` and reads the ports from its "analyzer listening:" line. */
export async function spawnAnalyzer(args: string[], logDir: string): Promise<AnalyzerProcess> {
  const proc = new ManagedProcess('analyzer', process.execPath, [...NODE_ARGS, BIN, 'analyzer', ...args], join(logDir, 'analyzer.log'), { cwd: ROOT });
  let ports: Ports | undefined;
  try {
    await waitUntil(
      () => {
        const line = /^analyzer listening: (.*)$/m.exec(proc.logTail(400))?.[1];
        if (line) ports = Object.fromEntries(line.split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)])) as unknown as Ports;
        return ports !== undefined;
      },
      'the analyzer to print its ports',
      60_000,
      { abort: () => proc.deadReason() },
    );
  } catch (err) {
    await proc.stop(2_000);
    throw proc.failure((err as Error).message);
  }
  const http = ports!.http;
  return {
    proc,
    ports: ports!,
    api: async (path) => {
      const res = await fetch(`http://127.0.0.1:${http}${path}`);
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
      return (path === '/metrics' ? res.text() : res.json()) as Promise<any>;
    },
    stop: () => proc.stop(10_000),
  };
}

/** `meshscope bootstrap ARGS` → the Envoy bootstrap it prints. */
export async function bootstrap(args: string[]): Promise<string> {
  return (await run(process.execPath, [BIN, 'bootstrap', ...args], { cwd: ROOT, timeoutMs: 60_000 })).stdout;
}

/** A sample from Prometheus text; NaN when absent. */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return NaN;
}
