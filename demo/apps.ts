// The demo's workloads: each a small real server (HTTP/1.1, or gRPC over
// HTTP/2 where the topology says so) that, for every request it serves, calls
// each of its dependencies through its own sidecar's egress port by service
// name, and answers 502 naming the dependency when one of those calls fails.
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type { Dependency, DemoWorkload } from './mesh.ts';

const METHOD = '/meshscope.demo.Shop/Call';
const raw = (b: Buffer) => b;
const CALL_TIMEOUT_MS = 10_000;

export interface HostPort {
  host: string;
  port: number;
}

/** How a workload calls one dependency through its sidecar. */
export type Caller = () => Promise<void>;

function grpcCaller(egress: HostPort, dep: Dependency): { call: Caller; close(): void } {
  const client = new grpc.Client(`${egress.host}:${egress.port}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': `${dep.service}:${dep.port}`,
  });
  const call: Caller = () =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(METHOD, raw, raw, Buffer.from('{}'), new grpc.Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (err) =>
        err ? reject(new Error(`${dep.service}: gRPC ${grpc.status[err.code]} ${err.details}`)) : resolve(),
      );
    });
  return { call, close: () => client.close() };
}

function httpCaller(egress: HostPort, dep: Dependency, agent: http.Agent): Caller {
  const host = dep.port === 80 ? dep.service : `${dep.service}:${dep.port}`;
  return () =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: egress.host, port: egress.port, path: '/', agent, headers: { host }, timeout: CALL_TIMEOUT_MS }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${dep.service}: HTTP ${res.statusCode} ${body.slice(0, 200)}`))));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${dep.service}: no answer within ${CALL_TIMEOUT_MS} ms`)));
      req.on('error', (err) => reject(err.message.startsWith(dep.service) ? err : new Error(`${dep.service}: ${err.message}`)));
      req.end();
    });
}

/** Calls to every dependency of one workload, over connections kept open. */
export class Dependencies {
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly grpcClients: Array<{ close(): void }> = [];
  readonly callers: Array<{ dep: Dependency; call: Caller }>;

  constructor(egress: HostPort, deps: Dependency[]) {
    this.callers = deps.map((dep) => {
      if (dep.protocol === 'grpc') {
        const c = grpcCaller(egress, dep);
        this.grpcClients.push(c);
        return { dep, call: c.call };
      }
      return { dep, call: httpCaller(egress, dep, this.agent) };
    });
  }

  /** Calls them all at once; rejects with the first failure. */
  async callAll(): Promise<void> {
    await Promise.all(this.callers.map((c) => c.call()));
  }

  close(): void {
    this.agent.destroy();
    for (const c of this.grpcClients) c.close();
  }
}

export interface App {
  close(): Promise<void>;
}

/** Serves the workload's port; every request fans out to its dependencies first. */
export async function startApp(w: DemoWorkload, egress: HostPort): Promise<App> {
  const deps = new Dependencies(egress, w.calls);
  const port = w.port!;
  if (port.protocol === 'grpc') {
    const server = new grpc.Server();
    server.addService(
      { call: { path: METHOD, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw, originalName: 'call' } },
      {
        call: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
          deps.callAll().then(
            () => done(null, Buffer.from(JSON.stringify({ service: w.service }))),
            (err: Error) => done({ code: grpc.status.UNAVAILABLE, details: `${w.service} → ${err.message}` }),
          );
        },
      },
    );
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`${w.address}:${port.targetPort}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(new Error(`${w.service}: cannot listen on ${w.address}:${port.targetPort} (${err.message})`)) : resolve(),
      ),
    );
    return {
      close: async () => {
        deps.close();
        await new Promise<void>((r) => server.tryShutdown(() => r()));
      },
    };
  }
  const server = http.createServer((req, res) => {
    req.resume();
    deps.callAll().then(
      () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ service: w.service })),
      (err: Error) => res.writeHead(502, { 'content-type': 'text/plain' }).end(`${w.service} → ${err.message}`),
    );
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`${w.service}: cannot listen on ${w.address}:${port.targetPort} (${err.code})`)));
    server.listen(port.targetPort, w.address, resolve);
  });
  return {
    close: async () => {
      deps.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
