// The analyzer's side of its in-process lazy gateway (thread.ts): starts the
// thread, hands it each inventory change as a delta, ingests the records it
// sends back, and starts it again on the same ports if it ever dies.
import type { Worker } from 'node:worker_threads';
import type { AccessLogSink } from '../../contracts/access-log.ts';
import type { Inventory, InventorySource } from '../../contracts/index.ts';
import { restartDelay } from '../threads/restart.ts';
import { spawnTsWorker } from '../threads/spawn.ts';
import type { FromGateway, GatewayThreadConfig, ToGateway } from './protocol.ts';

export interface GatewayThreadOptions {
  inventory: InventorySource;
  port: number;
  adminPort: number;
  host: string;
  trustedProxies?: readonly string[];
  /** Where the gateway's access-log records go (the analyzer's core). */
  sink: AccessLogSink;
  log: (msg: string) => void;
}

export interface EmbeddedGateway {
  readonly port: number;
  readonly adminPort: number;
  /** Records the gateway has reported: one a call it answered. */
  reported(): number;
  /** Drains in-flight calls, ingests the last records, stops the thread. */
  close(): Promise<void>;
}

export async function startGatewayThread(opts: GatewayThreadOptions): Promise<EmbeddedGateway> {
  const gateway = new GatewayThread(opts);
  try {
    await gateway.start(opts.port, opts.adminPort);
  } catch (err) {
    await gateway.close();
    throw err;
  }
  return gateway;
}

class GatewayThread implements EmbeddedGateway {
  port = 0;
  adminPort = 0;
  private thread?: Worker;
  /** Resolves when the current thread has exited. */
  private exited: Promise<unknown> = Promise.resolve();
  private closing?: Promise<void>;
  private restarts = 0;
  private records = 0;
  /** The version the thread holds: each change is sent as the delta from it. */
  private held: Inventory;
  private readonly onChange = (next: Inventory) => this.follow(next);

  constructor(private readonly opts: GatewayThreadOptions) {
    this.held = opts.inventory.current;
    opts.inventory.on('change', this.onChange);
  }

  /** Resolves once the thread listens; rejects with why it could not (a port in use). */
  start(port: number, adminPort: number): Promise<void> {
    this.held = this.opts.inventory.current;
    const config: GatewayThreadConfig = { spec: this.held.spec(), port, adminPort, host: this.opts.host, trustedProxies: this.opts.trustedProxies };
    const thread = spawnTsWorker(new URL('./thread.ts', import.meta.url), { ...config });
    this.thread = thread;
    this.exited = new Promise((resolve) => thread.once('exit', resolve));
    return new Promise((resolve, reject) => {
      let listening = false;
      thread.on('message', (m: FromGateway) => {
        switch (m.type) {
          case 'listening':
            listening = true;
            this.port = m.port;
            this.adminPort = m.adminPort;
            return resolve();
          case 'failed':
            return reject(new Error(m.message));
          case 'records':
            // The in-process sink ingests synchronously; it never rejects.
            this.records += m.records.length;
            void this.opts.sink.send(m.records);
            return;
          case 'log':
            return this.opts.log(m.msg);
          case 'closed':
            return;
        }
      });
      thread.on('error', (err) => this.opts.log(`lazy gateway: its thread failed: ${err.stack ?? err.message}`));
      thread.on('exit', (code) => {
        if (!listening) return reject(new Error(`its thread exited (code ${code}) before listening`));
        if (this.thread === thread && !this.closing) this.restart(code);
      });
    });
  }

  reported(): number {
    return this.records;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.opts.inventory.off('change', this.onChange);
      this.post({ type: 'close' });
      await this.exited;
    })();
    return this.closing;
  }

  private follow(next: Inventory): void {
    const delta = next.deltaSince(this.held);
    this.post(delta ? { type: 'delta', delta } : { type: 'spec', spec: next.spec() });
    this.held = next;
  }

  private post(m: ToGateway): void {
    this.thread?.postMessage(m);
  }

  private restart(code: number): void {
    const delay = restartDelay(this.restarts++);
    this.opts.log(`lazy gateway: its thread exited (code ${code}); starting it again on ports ${this.port} and ${this.adminPort} in ${delay} ms`);
    this.thread = undefined;
    setTimeout(() => {
      if (this.closing) return;
      this.start(this.port, this.adminPort).then(
        () => (this.restarts = 0),
        (err: Error) => {
          this.opts.log(`lazy gateway: ${err.message}`);
          if (!this.closing) this.restart(1);
        },
      );
    }, delay).unref();
  }
}
