// Benchmark of the xDS protocol engine (prints figures; not a test).
// Run:
//   node --import tsx bench/xds-protocol.ts            (1000 streams, 10000 services)
//   STREAMS=1000 SERVICES=10000 SCOPED=20 node --import tsx bench/xds-protocol.ts
// 1. encoding one DiscoveryResponse: protobufjs vs the hand-framed encoder;
// 2. the engine alone (no network): STREAMS wildcard CDS streams over SERVICES
//    clusters, initial push and a one-cluster change, SotW and delta;
// 3. real gRPC: STREAMS SotW streams over loopback, time for a change to reach
//    all of them, with SCOPED clusters each (lazy scoping) and with all SERVICES
//    (no scoping; fewer streams, FULL_STREAMS, to fit a 2-core machine).
import * as grpc from '@grpc/grpc-js';
import { messageType } from '../contracts/envoy-proto.ts';
import { startXdsGrpcServer } from '../xds-server/grpc-server.ts';
import { adsServiceDefinition, DeltaStream, NodeStatusRegistry, SotwStream } from '../xds-server/protocol/index.ts';
import { encodeSotwResponse } from '../xds-server/protocol/wire.ts';
import { CDS, resource, TinyCache } from '../test/xds-protocol/helpers.ts';

const STREAMS = Number(process.env.STREAMS ?? 1000);
const SERVICES = Number(process.env.SERVICES ?? 10000);
const SCOPED = Number(process.env.SCOPED ?? 20);
const FULL_STREAMS = Number(process.env.FULL_STREAMS ?? 100);
const names = (n: number) => Array.from({ length: n }, (_, i) => `svc-${i}.ns-${i % 50}:8080`);
const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
const turn = () => new Promise((r) => setImmediate(r));

function encoding() {
  const res = names(SERVICES).map((n) => resource(CDS, n, 'v1'));
  const R = messageType('envoy.service.discovery.v3.DiscoveryResponse');
  const reps = 20;
  let t = performance.now();
  for (let k = 0; k < reps; k++) R.encode(R.fromObject({ version_info: 'x', type_url: CDS, nonce: 'n', resources: res.map((r) => r.any) })).finish();
  const pb = (performance.now() - t) / reps;
  t = performance.now();
  let size = 0;
  for (let k = 0; k < reps; k++) size = encodeSotwResponse({ versionInfo: 'x', typeUrl: CDS, nonce: 'n', resources: res }).length;
  const hand = (performance.now() - t) / reps;
  console.log(`encode 1 response of ${SERVICES} clusters (${mib(size)}): protobufjs ${pb.toFixed(2)} ms, hand-framed ${hand.toFixed(2)} ms`);
}

async function engine(kind: 'sotw' | 'delta') {
  const cache = new TinyCache().put(CDS, names(SERVICES));
  const status = new NodeStatusRegistry();
  let bytes = 0;
  let sent = 0;
  const sink = { send: (b: Buffer) => ((bytes += b.length), sent++), fail: (_c: grpc.status, d: string) => { throw new Error(d); } };
  const deps = { cache, status, log: () => {} };
  const streams = Array.from({ length: STREAMS }, () => (kind === 'sotw' ? new SotwStream(deps, sink, 'sotw') : new DeltaStream(deps, sink, 'delta')));
  let t = performance.now();
  streams.forEach((s, i) => s.receive({ node: { id: `n${i}`, user_agent_name: 'envoy' }, type_url: CDS }));
  await turn();
  console.log(`engine ${kind}: first push to ${STREAMS} streams x ${SERVICES} clusters: ${ms(t)}, ${sent} responses, ${mib(bytes)}`);
  streams.forEach((s) => { const st = s.types()[CDS]; s.receive({ type_url: CDS, response_nonce: st.nonceSent, version_info: st.versionSent }); });
  await turn();
  bytes = 0;
  sent = 0;
  t = performance.now();
  cache.put(CDS, 'svc-1.ns-1:8080', 'v2').commit();
  await turn();
  console.log(`engine ${kind}: one cluster changed: ${ms(t)}, ${sent} responses, ${mib(bytes)}`);
  streams.forEach((s) => s.close());
}

/** Reads version_info, type_url and nonce without decoding the resources, as a light client. */
function skim(b: Buffer) {
  const out: Record<number, string> = {};
  for (let i = 0; i < b.length; ) {
    const tag = b[i++];
    let len = 0;
    for (let shift = 0, x = 0x80; x & 0x80; shift += 7) len += ((x = b[i++]) & 0x7f) * 2 ** shift;
    if (tag >> 3 !== 2) out[tag >> 3] = b.toString('utf8', i, i + len);
    i += len;
  }
  return { version_info: out[1], type_url: out[4], nonce: out[5], size: b.length };
}

async function network(streams: number, clusters: number) {
  const def: any = { ...adsServiceDefinition() };
  def.StreamAggregatedResources = { ...def.StreamAggregatedResources, responseDeserialize: skim };
  const Client = grpc.makeClientConstructor(def, 'ADS');
  const cache = new TinyCache().put(CDS, names(clusters));
  const server = await startXdsGrpcServer({ cache, port: 0 });
  const channels = Array.from({ length: Math.min(50, streams) }, () => new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 }) as any);
  let got = 0;
  let bytes = 0;
  let done = () => {};
  const all = () => new Promise<void>((r) => ((got = 0), (bytes = 0), (done = r)));
  let first = all();
  let t = performance.now();
  for (let i = 0; i < streams; i++) {
    const call = channels[i % channels.length].StreamAggregatedResources();
    call.on('data', (r: ReturnType<typeof skim>) => {
      call.write({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce });
      bytes += r.size;
      if (++got === streams) done();
    });
    call.on('error', () => {});
    call.write({ node: { id: `n${i}`, user_agent_name: 'envoy' }, type_url: CDS });
  }
  await first;
  console.log(`grpc: ${streams} SotW streams x ${clusters} clusters: first push reached all in ${ms(t)} (${mib(bytes)})`);
  for (let k = 2; k <= 3; k++) {
    const p = all();
    t = performance.now();
    cache.put(CDS, 'svc-1.ns-1:8080', `v${k}`).commit();
    await p;
    console.log(`grpc: ${streams} streams x ${clusters} clusters: a change reached all in ${ms(t)} (${mib(bytes)})`);
  }
  for (const c of channels) c.close();
  await server.close();
}

encoding();
await engine('sotw');
await engine('delta');
await network(STREAMS, SCOPED);
await network(FULL_STREAMS, SERVICES);
const mem = process.memoryUsage();
console.log(`rss ${mib(mem.rss)}, heap ${mib(mem.heapUsed)}`);
process.exit(0);
