// Kafka → graph + SQLite throughput of the running analyzer, and the time from
// a new edge's record (produced to Kafka) to the proxy's ACK of its widened
// config. Not a test: prints figures.
//   node --import tsx bench/analyzer-kafka.ts [--records 1000000] [--kafka HOST:PORT] [--no-envoy]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startAnalyzer, type RunningAnalyzer } from '../analyzer/app.ts';
import { envoyBootstrap } from '../xds-server/index.ts';
import { startEnvoy, type EnvoyProcess } from '../test/harness/envoy.ts';
import { startKafka, type KafkaBroker } from '../test/harness/kafka.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({ options: { records: { type: 'string' }, kafka: { type: 'string' }, 'no-envoy': { type: 'boolean' }, rounds: { type: 'string' } } });
const N = Number(values.records ?? 1_000_000);
const ROUNDS = Number(values.rounds ?? 30);
const SERVICES = 100;
const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
const say = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

function mesh(): string {
  const lines = ['apiVersion: meshscope/v1', 'kind: Mesh', 'services:'];
  for (let i = 0; i < SERVICES; i++) {
    lines.push(`  - name: svc${i}`, `    clusterIP: 10.96.${i >> 8}.${i & 255}`, '    ports: [{port: 8080}]', '    workloads:');
    for (let w = 0; w < 2; w++) lines.push(`      - {name: svc${i}-${w}, address: 10.244.${i}.${w + 1}}`);
  }
  return `${lines.join('\n')}\n`;
}

// ~500 service edges: each caller talks to five others; svc0 (the sidecar's service) is left out so its scope starts empty.
function record(i: number, time: string): string {
  const src = 1 + (i % (SERVICES - 1));
  const dst = 1 + ((src * 7 + (i % 5) * 13) % (SERVICES - 1));
  return JSON.stringify({ time, source: `svc${src}-${i & 1}.default`, authority: `svc${dst}:8080`, protocol: 'http', code: 200, durationMs: i % 40, requestId: `b-${i}` });
}

async function produceAll(producer: Producer, topic: string): Promise<void> {
  const time = new Date().toISOString();
  const per = 4000;
  const t0 = Date.now();
  let inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < N; i += per) {
    const messages = [];
    for (let j = i; j < Math.min(N, i + per); j++) messages.push({ value: record(j, time) });
    inFlight.push(producer.send({ topic, messages, acks: 1 }));
    if (inFlight.length >= 8) {
      await Promise.all(inFlight);
      inFlight = [];
    }
    if ((i / per) % 50 === 0) say(`produced ${i} / ${N}`);
  }
  await Promise.all(inFlight);
  say(`produced ${N} records in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function throughput(brokers: string[], dir: string): Promise<RunningAnalyzer> {
  const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'bench-access-logs', numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await produceAll(producer, 'bench-access-logs');
  await producer.disconnect();

  const t0 = performance.now();
  const run = await startAnalyzer({ mesh: join(dir, 'mesh.yaml'), data: join(dir, 'data'), kafka: brokers, topic: 'bench-access-logs', group: 'bench' });
  let joinedAt = 0;
  void run.kafka!.joined.then(() => (joinedAt = performance.now()));
  let said = 0;
  for (let fifth = 1; fifth <= 5; fifth++) {
    await run.kafka!.consumed(fifth === 5 ? N : Math.floor((N * fifth) / 5));
    const done = run.kafka!.stats().messages;
    // One large batch may cover several fifths: report each count once.
    if (fifth < 5 && done > said) say(`ingested ${(said = done)} / ${N}`);
  }
  const end = performance.now();
  const s = run.analyzer.stats();
  console.log(`records               ${N} (accepted ${s.accepted}, rejected ${s.rejected}, duplicates ${s.duplicates}, edges ${s.edges})`);
  console.log(`wall (incl. join)     ${((end - t0) / 1000).toFixed(2)} s  → ${Math.round(N / ((end - t0) / 1000))} records/s`);
  console.log(`from the group join   ${((end - joinedAt) / 1000).toFixed(2)} s  → ${Math.round(N / ((end - joinedAt) / 1000))} records/s (fetched, parsed, ingested, flushed to SQLite, committed)`);
  return run;
}

async function ackLatency(run: RunningAnalyzer, brokers: string[]): Promise<void> {
  let envoy: EnvoyProcess | undefined;
  try {
    const b = envoyBootstrap({ workload: 'svc0-0.default', cluster: 'svc0', xds: { host: '127.0.0.1', port: run.xdsPort }, adminPort: 0, egressPort: 0, ingressPort: 0 });
    envoy = await startEnvoy({ bootstrapYaml: YAML.stringify(b), name: 'bench-sidecar' });
  } catch (err) {
    console.log(`record → ACK latency  skipped: no Envoy (${(err as Error).message.split('\n')[0]})`);
    return;
  }
  const producer = new Kafka({ clientId: 'bench-latency', brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  const proxy = () => run.xds.proxy('svc0-0.default');
  const allAcked = () => {
    const p = proxy();
    return p !== undefined && Object.keys(p.types).length > 0 && Object.values(p.types).every((t) => t.versionAcked === t.versionSent);
  };
  try {
    // Re-checked on each of the server's ACK events, not on a timer.
    if (!allAcked()) {
      await new Promise<void>((resolve) => {
        const off = run.xds.onAnswer(() => allAcked() && (off(), resolve()));
      });
    }
    const samples: number[] = [];
    // Scope change → ACK of each push, as /metrics meshscope_push_latency_seconds counts it, but exact.
    const scopePushes: number[] = [];
    const offScope = run.xds.onPush((e) => {
      if (e.workload === 'svc0-0.default' && e.cause === 'scope' && e.responses.length > 0 && e.responses.every((r) => r.ack)) scopePushes.push(e.answeredAt - e.changedAt);
    });
    for (let i = 1; i <= Math.min(ROUNDS, SERVICES - 1); i++) {
      const dest = `svc${i}.default`;
      // Done when the scope push that brings dest's cluster and route (CDS and RDS) is ACKed on every response that carried it.
      const pushed = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => (off(), reject(new Error(`no scope push for ${dest} reached the sidecar within 30 s`))), 30_000);
        const off = run.xds.onPush((e) => {
          if (e.workload !== 'svc0-0.default' || e.cause !== 'scope' || !proxy()?.scope.includes(dest)) return;
          const types = new Set(e.responses.map((r) => r.typeUrl));
          if (!types.has(CDS) || !types.has(RDS)) return;
          off();
          clearTimeout(timer);
          if (e.responses.every((r) => r.ack)) resolve();
          else reject(new Error(`the sidecar rejected the push for ${dest}: ${e.responses.find((r) => !r.ack)!.message}`));
        });
      });
      const t0 = performance.now();
      await producer.send({ topic: 'bench-access-logs', messages: [{ value: JSON.stringify({ time: new Date().toISOString(), source: 'svc0-0.default', authority: `svc${i}:8080`, requestId: `lat-${i}` }) }] });
      await pushed;
      samples.push(performance.now() - t0);
    }
    offScope();
    const f = (xs: number[], p: number) => percentile(xs, p).toFixed(1);
    console.log(`scope change → ACK    p50 ${f(scopePushes, 50)} ms, p99 ${f(scopePushes, 99)} ms over ${scopePushes.length} pushes (what /metrics meshscope_push_latency_seconds times)`);
    console.log(`record → ACK latency  p50 ${f(samples, 50)} ms, p99 ${f(samples, 99)} ms, max ${f(samples, 100)} ms over ${samples.length} new edges (Kafka produce → consume → scope → CDS/EDS/LDS/RDS push → Envoy ACK)`);
  } finally {
    await producer.disconnect();
    await envoy.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'meshscope-bench-kafka-'));
writeFileSync(join(dir, 'mesh.yaml'), mesh());
let broker: KafkaBroker | undefined;
let run: RunningAnalyzer | undefined;
try {
  let brokers: string[];
  if (values.kafka) brokers = values.kafka.split(',');
  else {
    say('starting a Kafka broker (test harness)');
    broker = await startKafka({ name: 'bench-kafka', heapMb: 1024 });
    brokers = broker.brokers;
  }
  run = await throughput(brokers, dir);
  if (!values['no-envoy']) await ackLatency(run, brokers);
} finally {
  await run?.close();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
}
