// One real Envoy per demo workload, started from the bootstrap
// `meshscope bootstrap` would print for it, pointed at the demo's xDS server.
// Every Envoy is a child of this process: stop() ends it, and a crash of this
// process kills what is left (the 'exit' hook), so nothing outlives the demo.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { envoyBootstrap } from '../xds-server/index.ts';
import type { DemoWorkload } from './mesh.ts';

export const EGRESS_PORT = 15001;
export const INGRESS_PORT = 15006;

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface SidecarOptions {
  envoy: string;
  dir: string;
  xds: { host: string; port: number };
  delta: boolean;
}

export class Sidecar {
  private constructor(
    readonly workload: DemoWorkload,
    readonly child: ChildProcess,
    readonly adminPort: number,
    readonly logFile: string,
    private readonly exited: Promise<void>,
  ) {}

  get adminUrl(): string {
    return `http://127.0.0.1:${this.adminPort}`;
  }

  static async start(w: DemoWorkload, opts: SidecarOptions): Promise<Sidecar> {
    const name = w.id.replace(/\.default$/, '');
    const config = join(opts.dir, `${name}.envoy.json`);
    const adminFile = join(opts.dir, `${name}.admin`);
    const logFile = join(opts.dir, `${name}.envoy.log`);
    const bootstrap = envoyBootstrap({
      workload: w.id,
      xds: opts.xds,
      ip: w.address,
      cluster: `${w.service}.default`,
      delta: opts.delta,
      adminPort: 0,
      bindAddress: w.address,
      egressPort: EGRESS_PORT,
      ingressPort: INGRESS_PORT,
      workloadAddress: w.address,
    });
    writeFileSync(config, JSON.stringify(bootstrap, null, 2));
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      // One worker each: twelve Envoys share the machine with the apps; drain
      // fast so a replaced listener does not linger for minutes.
      child = spawn(
        opts.envoy,
        ['--config-path', config, '--admin-address-path', adminFile, '--disable-hot-restart', '--concurrency', '1', '--drain-time-s', '1', '--log-level', 'warning'],
        // Its own process group: a terminal's Ctrl-C reaches the demo, which stops the load before the sidecars.
        { stdio: ['ignore', fd, fd], detached: true },
      );
    } finally {
      closeSync(fd);
    }
    live.add(child);
    let exitInfo: string | undefined;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        live.delete(child);
        exitInfo = `exited (code ${code}, signal ${signal})`;
        resolve();
      });
      child.once('error', (err) => {
        live.delete(child);
        exitInfo = `could not start (${err.message})`;
        resolve();
      });
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const text = existsSync(adminFile) ? readFileSync(adminFile, 'utf8').trim() : '';
      const port = Number(text.slice(text.lastIndexOf(':') + 1));
      if (port > 0) return new Sidecar(w, child, port, logFile, exited);
      if (exitInfo || Date.now() > deadline) {
        child.kill('SIGKILL');
        const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
        throw new Error(`Envoy for ${w.id} ${exitInfo ?? 'did not write its admin address within 60 s'}; its log (${logFile}):\n${tail}`);
      }
      await sleep(50);
    }
  }

  async get(path: string): Promise<string> {
    const res = await fetch(this.adminUrl + path);
    if (!res.ok) throw new Error(`${this.workload.id} Envoy admin ${path}: HTTP ${res.status}`);
    return res.text();
  }

  /** Requests per outbound cluster (`outbound|PORT||NAME.NS.svc…` → count) from Envoy's own counters. */
  async outboundRequests(): Promise<Map<string, number>> {
    const body = JSON.parse(await this.get(`/stats?format=json&filter=${encodeURIComponent('^cluster\\.outbound\\|.*\\.upstream_rq_total$')}`)) as {
      stats: Array<{ name?: string; value?: number }>;
    };
    const out = new Map<string, number>();
    for (const s of body.stats) if (s.name && typeof s.value === 'number') out.set(s.name.slice('cluster.'.length, -'.upstream_rq_total'.length), s.value);
    return out;
  }

  /** SIGTERM, SIGKILL after a grace period; resolves once the process is gone. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
