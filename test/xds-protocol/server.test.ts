// The gRPC endpoint around the state machines: node identity, status registry,
// refused streams, unknown types, cancellation and shutdown.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { messageType } from '../../contracts/envoy-proto.ts';
import { CDS, harness, LDS, SotwClient, waitFor, type SotwResponse } from './helpers.ts';

let h: Awaited<ReturnType<typeof harness>>;
beforeEach(async () => (h = await harness()));
afterEach(() => h.done());

const Response = messageType('envoy.service.discovery.v3.DiscoveryResponse');
const sizeOf = (r: SotwResponse) => Response.encode(Response.fromObject(r)).finish().length;

test('the status registry shows subscriptions, versions, NACKs and bytes pushed', async () => {
  h.cache.put(CDS, 'c1').put(LDS, 'l1');
  const c = h.sotw('sidecar~10.0.0.1~web-1.shop~shop.svc.cluster.local');
  c.request(CDS);
  const cds = await c.next();
  c.ack(cds);
  c.request(LDS, ['l1']);
  const lds = await c.next();
  c.nack(lds, 'listener l1: port in use', ['l1']);
  const status = h.server.status;
  await waitFor(() => status.list()[0]?.types[LDS]?.lastNack, 'the NACK in status');
  const p = status.get('sidecar~10.0.0.1~web-1.shop~shop.svc.cluster.local')!;
  assert.equal(p.profile, 'envoy');
  assert.equal(p.streams, 1);
  assert.ok(!Number.isNaN(Date.parse(p.connectedAt)));
  assert.deepEqual(p.scope, []);
  assert.deepEqual(p.types[CDS], {
    subscribed: '*',
    versionSent: cds.version_info,
    versionAcked: cds.version_info,
    nonceSent: cds.nonce,
    resources: 1,
  });
  assert.deepEqual(p.types[LDS].subscribed, ['l1']);
  assert.equal(p.types[LDS].versionAcked, undefined);
  assert.equal(p.types[LDS].lastNack!.message, 'listener l1: port in use');
  assert.equal(p.types[LDS].lastNack!.version, lds.version_info);
  // Every byte we wrote: the same messages re-encoded by protobufjs have the same size.
  assert.equal(p.bytesPushed, sizeOf(cds) + sizeOf(lds));

  c.close();
  await waitFor(() => status.size === 0, 'the node to leave the registry');
  assert.deepEqual(h.cache.detached, [p.nodeId]);
});

test('node identity: metadata Struct as plain JSON, profile from the user agent', async () => {
  const c = h.sotw();
  c.send({
    node: {
      id: 'grpc-client-1',
      cluster: 'checkout',
      user_agent_name: 'gRPC Node Pure JS',
      metadata: {
        // protobufjs's google.protobuf.Value is camelCase even under keepCase.
        fields: {
          WORKLOAD: { stringValue: 'checkout-1.shop' },
          PORTS: { listValue: { values: [{ numberValue: 8080 }, { boolValue: false }] } },
          LABELS: { structValue: { fields: { app: { stringValue: 'checkout' } } } },
          NOTHING: { nullValue: 'NULL_VALUE' },
        },
      },
    },
    type_url: LDS,
    resource_names: ['checkout.shop:8080'],
  });
  await waitFor(() => h.cache.attached.length, 'attach');
  assert.deepEqual(h.cache.attached[0], {
    id: 'grpc-client-1',
    cluster: 'checkout',
    profile: 'grpc',
    metadata: { WORKLOAD: 'checkout-1.shop', PORTS: [8080, false], LABELS: { app: 'checkout' }, NOTHING: null },
  });
  await waitFor(() => h.cache.subscribedCalls.length, 'subscription');
  assert.deepEqual(h.cache.subscribedCalls[0], { node: 'grpc-client-1', type: LDS, names: ['checkout.shop:8080'] });
});

test('a stream whose first request has no node is refused with INVALID_ARGUMENT', async () => {
  const c = h.sotw();
  c.send({ type_url: CDS });
  const s = await c.ended;
  assert.equal(s.code, grpc.status.INVALID_ARGUMENT);
  assert.match(s.details, /node\.id/);
  assert.equal(h.cache.attached.length, 0);
  const d = h.delta();
  d.send({ node: { id: '' }, type_url: CDS });
  assert.equal((await d.ended).code, grpc.status.INVALID_ARGUMENT);
});

test('a request without type_url is refused with INVALID_ARGUMENT', async () => {
  const c = h.sotw();
  c.send({ node: { id: 'n' } });
  const s = await c.ended;
  assert.equal(s.code, grpc.status.INVALID_ARGUMENT);
  assert.match(s.details, /type_url/);
  await waitFor(() => h.cache.detached.length, 'detach after refusal');
});

test('a type the server does not serve gets no resources and does not disturb the stream', async () => {
  const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
  h.cache.put(CDS, 'c1');
  const c = h.sotw();
  c.request(SECRET as any, ['cert']);
  c.request(CDS);
  const cds = await c.next();
  assert.equal(cds.type_url, CDS, 'SotW: nothing for the unknown type (its resources never exist)');
  assert.ok(h.logs.some((l) => l.includes(SECRET)));
  assert.ok(!h.cache.subscribedCalls.some((s) => (s.type as string) === SECRET));

  const d = h.delta('node-d');
  d.request(SECRET as any, { resource_names_subscribe: ['cert'] });
  const r = await d.next();
  assert.equal(r.type_url, SECRET);
  assert.deepEqual(r.removed_resources, ['cert'], 'delta: the protocol\'s "does not exist" answer');
});

test('a cancelled client is detached and the server keeps serving', async () => {
  h.cache.put(CDS, 'c1');
  const a = h.sotw('a');
  a.request(CDS);
  await a.next();
  a.close();
  await waitFor(() => h.cache.detached.includes('a'), 'detach of the cancelled stream');
  h.cache.put(CDS, 'c2').commit();
  const b = h.sotw('b');
  b.request(CDS);
  assert.equal((await b.next()).resources?.length, 2);
});

test('close() ends open streams with UNAVAILABLE and detaches them', async () => {
  const c = h.sotw();
  c.request(CDS);
  await c.next();
  await h.server.close();
  const s = await c.ended;
  assert.equal(s.code, grpc.status.UNAVAILABLE);
  assert.deepEqual(h.cache.detached, ['node-a']);
  assert.equal(h.server.status.size, 0);
  const late = new SotwClient(h.server.port);
  late.request(CDS);
  assert.notEqual((await late.ended).code, grpc.status.OK);
  late.close();
});
