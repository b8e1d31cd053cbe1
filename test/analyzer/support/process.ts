// `meshscope analyzer` as its own process (node bin/meshscope.mjs), with the
// ports it bound read from its log.
import { join } from 'node:path';
import { ManagedProcess } from '../../harness/proc.ts';
import { waitUntil } from '../../harness/wait.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
/** Another build of the CLI can be tested by pointing this at its entry script. */
const BIN = process.env.MESHSCOPE_BIN ?? join(ROOT, 'bin', 'meshscope.mjs');

export interface AnalyzerProcess {
  proc: ManagedProcess;
  httpPort: number;
  xdsPort: number;
  alsPort: number;
  api<T = any>(path: string): Promise<T>;
}

let seq = 0;

export async function spawnAnalyzer(args: string[], logDir: string): Promise<AnalyzerProcess> {
  const logFile = join(logDir, `analyzer-${++seq}.log`);
  const proc = new ManagedProcess(`analyzer-${seq}`, process.execPath, [BIN, 'analyzer', '--listen', '127.0.0.1', '--http-port', '0', '--als-port', '0', '--xds-port', '0', ...args], logFile, { cwd: ROOT });
  let ports: number[] = [];
  try {
    await waitUntil(
      () => {
        const m = /analyzer ready: http (\d+), access log service (\d+), xds (\d+)/.exec(proc.logTail(200));
        if (m) ports = [Number(m[1]), Number(m[2]), Number(m[3])];
        return !!m;
      },
      'the analyzer to report its ports',
      60_000,
      { abort: () => proc.deadReason() },
    );
  } catch (err) {
    await proc.stop(2_000);
    throw proc.failure((err as Error).message);
  }
  const [httpPort, alsPort, xdsPort] = ports;
  return {
    proc,
    httpPort,
    alsPort,
    xdsPort,
    api: async (path) => {
      const res = await fetch(`http://127.0.0.1:${httpPort}${path}`);
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
      return (path === '/metrics' ? res.text() : res.json()) as Promise<any>;
    },
  };
}

/** A counter from the Prometheus text. */
export function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}
