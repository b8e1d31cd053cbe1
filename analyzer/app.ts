// The running analyzer: inventory watch, core (restored from SQLite), the
// xDS server it directs, the transports and the HTTP API, started in that
// order and closed in reverse, so no proxy is served before its scope is
// restored and nothing ingested is lost on shutdown.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { WatchedInventory, type Inventory } from '../contracts/index.ts';
import { createXdsServer, parseHostPort, type XdsServer } from '../xds-server/index.ts';
import { buildApp } from './http/app.ts';
import { PushLatency } from './http/metrics/push-latency.ts';
import { Analyzer } from './index.ts';
import { startAlsServer, type AlsServer } from './sources/als-server.ts';
import { startKafkaSource, type KafkaSource } from './sources/kafka-source.ts';
import { feedObservations } from './sources/xds-observations.ts';

export interface AnalyzerOptions {
  mesh: string;
  data: string;
  /** Address every listener binds; default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port (the default, for tests); the command passes 15090 / 15091 / 18000. */
  httpPort?: number;
  alsPort?: number;
  xdsPort?: number;
  kafka?: string[];
  topic?: string;
  group?: string;
  gateway?: string;
  dependencyTtlMs?: number;
  lazy?: boolean;
  adminToken?: string;
  log?: (msg: string) => void;
}

export interface RunningAnalyzer {
  httpPort: number;
  alsPort: number;
  xdsPort: number;
  analyzer: Analyzer;
  xds: XdsServer;
  kafka?: KafkaSource;
  /** Scope change → proxy ACK latencies. */
  push: PushLatency;
  /** Stops consuming, flushes everything ingested, closes every listener and the store. */
  close(): Promise<void>;
}

export const DB_FILE = 'meshscope.db';

export async function startAnalyzer(opts: AnalyzerOptions): Promise<RunningAnalyzer> {
  const log = opts.log ?? (() => {});
  const host = opts.host ?? '127.0.0.1';
  const gateway = opts.gateway ? parseHostPort(opts.gateway, '--gateway') : undefined;
  const cleanup: Array<() => unknown> = [];
  const undo = async () => {
    for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => {});
  };
  try {
    const inventory = new WatchedInventory(opts.mesh, log).start();
    cleanup.push(() => inventory.close());
    try {
      mkdirSync(opts.data, { recursive: true });
    } catch (err) {
      throw new Error(`--data ${opts.data}: cannot create the data directory (${(err as NodeJS.ErrnoException).code}); pass a writable directory`);
    }
    // Graph, pins and rules are restored and every scope computed here, before any proxy can connect.
    const analyzer = Analyzer.open({ inventory: inventory.current, db: join(opts.data, DB_FILE), dependencyTtlMs: opts.dependencyTtlMs });
    cleanup.push(() => analyzer.close());
    const onInventory = (next: Inventory) => analyzer.setInventory(next);
    inventory.on('change', onInventory);
    cleanup.push(() => inventory.off('change', onInventory));

    const xds = await createXdsServer({ inventory, gatewayAddress: gateway, lazy: opts.lazy ?? true, port: opts.xdsPort ?? 0, host, log });
    cleanup.push(() => xds.close());
    const push = new PushLatency(xds);
    cleanup.push(() => push.stop());
    // Same tick as the bind resolving: no stream has been served before every restored scope is in place.
    analyzer.attach(push.wrap(xds.scope));
    analyzer.start();
    const observations = feedObservations(xds, analyzer, log);
    cleanup.push(() => observations.close());

    const als: AlsServer = await startAlsServer({ target: analyzer, port: opts.alsPort ?? 0, host, log });
    cleanup.push(() => als.close());
    let kafka: KafkaSource | undefined;
    if (opts.kafka?.length) {
      kafka = await startKafkaSource({ brokers: opts.kafka, topic: opts.topic, group: opts.group, target: analyzer, log });
      cleanup.push(() => kafka!.stop());
    }

    let closing: Promise<void> | undefined;
    let joined = !kafka;
    void kafka?.joined.then(() => (joined = true));
    const app: FastifyInstance = await buildApp({
      analyzer,
      notReady: () =>
        closing ? 'shutting down' : joined ? undefined : `the Kafka consumer has not joined group ${kafka!.group} yet (is --kafka reachable?)`,
      xds,
      gateway,
      adminToken: opts.adminToken,
      push,
      sources: () => ({
        als_streams: als.streams().length,
        als_entries_total: als.received(),
        ...(kafka ? { kafka_messages_total: kafka.stats().messages, kafka_batches_total: kafka.stats().batches } : {}),
      }),
    });
    cleanup.push(() => app.close());
    await listen(app, host, opts.httpPort ?? 0);
    const httpPort = (app.server.address() as { port: number }).port;
    log(`analyzer: ${analyzer.stats().edges} edges restored from ${join(opts.data, DB_FILE)}; ${inventory.current.services.length} services`);

    return {
      httpPort,
      alsPort: als.port,
      xdsPort: xds.port,
      analyzer,
      xds,
      kafka,
      push,
      close: () => (closing ??= undo()),
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

async function listen(app: FastifyInstance, host: string, port: number): Promise<void> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    throw new Error(`HTTP API: cannot listen on ${host}:${port} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass a free --http-port`);
  }
}
