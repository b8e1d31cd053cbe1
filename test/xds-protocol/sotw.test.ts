// State-of-the-world ADS against the real server and a real grpc-js client.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { CDS, contents, EDS, harness, LDS, RDS, waitFor } from './helpers.ts';

let h: Awaited<ReturnType<typeof harness>>;
beforeEach(async () => (h = await harness()));
afterEach(() => h.done());

test('legacy wildcard LDS and CDS get every resource of the node', async () => {
  h.cache.put(CDS, 'c1').put(CDS, 'c2').put(LDS, 'l1');
  const c = h.sotw();
  c.request(CDS);
  const cds = await c.next();
  assert.equal(cds.type_url, CDS);
  assert.deepEqual(contents(cds), { c1: 'v1', c2: 'v1' });
  assert.ok(cds.version_info && cds.nonce);
  c.ack(cds);
  c.request(LDS);
  const lds = await c.next();
  assert.deepEqual(contents(lds), { l1: 'v1' });
  assert.notEqual(lds.nonce, cds.nonce);
});

test('a wildcard subscriber gets a first response even when the node has nothing', async () => {
  const c = h.sotw();
  c.request(CDS);
  const cds = await c.next();
  assert.deepEqual(contents(cds), {});
});

test('NACK: the rejected version is not sent again; the next change is', async () => {
  h.cache.put(CDS, 'c1', 'v1');
  const c = h.sotw();
  c.request(CDS);
  const bad = await c.next();
  c.nack(bad, 'cluster c1: bad lb policy');
  await waitFor(() => h.server.status.get('node-a')?.types[CDS]?.lastNack);
  const st = h.server.status.get('node-a')!.types[CDS];
  assert.equal(st.lastNack!.message, 'cluster c1: bad lb policy');
  assert.equal(st.lastNack!.version, bad.version_info);
  assert.equal(st.versionAcked, undefined);
  h.cache.put(CDS, 'c1', 'v2').commit();
  const fixed = await c.next(); // the very next message is the change, not a resend of v1
  assert.deepEqual(contents(fixed), { c1: 'v2' });
  assert.notEqual(fixed.version_info, bad.version_info);
  c.ack(fixed);
  await waitFor(() => h.server.status.get('node-a')?.types[CDS]?.versionAcked === fixed.version_info);
});

test('wildcard → explicit → wildcard + name → unsubscribe all, per the protocol examples', async () => {
  h.cache.put(LDS, 'l1').put(LDS, 'l2');
  const c = h.sotw();
  c.request(LDS);
  const all = await c.next();
  assert.deepEqual(contents(all), { l1: 'v1', l2: 'v1' });
  // Naming l1 leaves the wildcard; l1 is newly requested, so it is sent again.
  c.ack(all, ['l1']);
  const one = await c.next();
  assert.deepEqual(contents(one), { l1: 'v1' });
  c.ack(one, ['*', 'l1']);
  const again = await c.next();
  assert.deepEqual(contents(again), { l1: 'v1', l2: 'v1' });
  // Empty after explicit names is "nothing", not the legacy wildcard: no response,
  // and changes to l1 are no longer pushed.
  c.ack(again, []);
  h.cache.put(LDS, 'l1', 'v2').commit();
  c.request(LDS, ['l2'], { response_nonce: again.nonce, version_info: again.version_info });
  const l2 = await c.next();
  assert.deepEqual(contents(l2), { l2: 'v1' });
  // The cache hears of each change of the explicit names (the wildcard is not a name).
  assert.deepEqual(
    h.cache.subscribedCalls.filter((s) => s.type === LDS).map((s) => s.names),
    [[], ['l1'], [], ['l2']],
  );
});

test('unsubscribing a named resource sends nothing and stops its updates', async () => {
  h.cache.put(RDS, 'r1').put(RDS, 'r2');
  const c = h.sotw();
  c.request(RDS, ['r1', 'r2']);
  const both = await c.next();
  assert.deepEqual(contents(both), { r1: 'v1', r2: 'v1' });
  c.ack(both, ['r1']);
  h.cache.put(RDS, 'r2', 'v2').commit();
  h.cache.put(RDS, 'r1', 'v2').commit();
  const next = await c.next();
  assert.deepEqual(contents(next), { r1: 'v2' });
});

test('a subscribed name that does not exist yet is pushed when it appears', async () => {
  const c = h.sotw();
  c.request(EDS, ['e1']);
  await waitFor(() => h.cache.subscribedCalls.some((s) => s.type === EDS), 'the EDS subscription to reach the cache');
  h.cache.put(EDS, 'e1').commit();
  const first = await c.next();
  assert.deepEqual(contents(first), { e1: 'v1' });
});

test('a request that only ACKs, or repeats the subscription, gets no response', async () => {
  h.cache.put(EDS, 'e1');
  const c = h.sotw();
  c.request(EDS, ['e1']);
  const r1 = await c.next();
  c.ack(r1, ['e1']);
  c.ack(r1, ['e1']); // a resource-hint request at the same version
  h.cache.put(LDS, 'l9').commit(); // a type this client never asked for
  h.cache.put(EDS, 'e1', 'v2').commit();
  const r2 = await c.next();
  assert.deepEqual(contents(r2), { e1: 'v2' });
  assert.equal(c.backlog, 0);
});

test('a newly named resource makes the response carry every subscribed name', async () => {
  h.cache.put(EDS, 'e1').put(EDS, 'e2');
  const c = h.sotw();
  c.request(EDS, ['e1']);
  const r1 = await c.next();
  c.ack(r1, ['e1', 'e2']);
  const r2 = await c.next();
  assert.deepEqual(contents(r2), { e1: 'v1', e2: 'v1' });
});

test('a request with a stale nonce is ignored, subscription change included', async () => {
  h.cache.put(RDS, 'r1').put(RDS, 'r2');
  const c = h.sotw();
  c.request(RDS, ['r1']);
  const r1 = await c.next();
  c.ack(r1, ['r1']);
  h.cache.put(RDS, 'r1', 'v2').commit();
  const r2 = await c.next();
  // Written before the client saw r2: must not be taken as a NACK of r2 nor add r2.
  c.request(RDS, ['r1', 'r2'], { response_nonce: r1.nonce, version_info: r1.version_info });
  c.ack(r2, ['r1']);
  h.cache.put(RDS, 'r1', 'v3').commit();
  const r3 = await c.next();
  assert.deepEqual(contents(r3), { r1: 'v3' });
  const st = h.server.status.get('node-a')!.types[RDS];
  assert.deepEqual(st.subscribed, ['r1']);
  assert.equal(st.lastNack, undefined);
});

test('at most one response in flight per type: two changes before the ACK yield only the latest', async () => {
  h.cache.put(CDS, 'c1', 'v1');
  const c = h.sotw();
  c.request(CDS);
  const r1 = await c.next();
  h.cache.put(CDS, 'c1', 'v2').commit();
  h.cache.put(CDS, 'c1', 'v3').commit();
  c.ack(r1);
  const r2 = await c.next(); // v2 was never sent: it would have arrived before v3
  assert.deepEqual(contents(r2), { c1: 'v3' });
});

test('a reconnecting client that presents the current version gets nothing until a change', async () => {
  h.cache.put(CDS, 'c1').put(EDS, 'c1');
  const c1 = h.sotw();
  c1.request(CDS);
  const cds = await c1.next();
  c1.ack(cds);
  c1.request(EDS, ['c1']);
  const eds = await c1.next();
  c1.ack(eds, ['c1']);
  c1.close();

  const c2 = h.sotw();
  c2.request(CDS, [], { version_info: cds.version_info });
  c2.request(EDS, ['c1'], { version_info: eds.version_info });
  h.cache.put(CDS, 'c2').commit();
  const next = await c2.next();
  assert.equal(next.type_url, CDS);
  assert.deepEqual(contents(next), { c1: 'v1', c2: 'v1' });
  assert.equal(cds.version_info !== next.version_info, true);
});

test('versions are derived from content: the same resources give the same version_info', async () => {
  h.cache.put(CDS, 'a').put(CDS, 'b');
  const x = h.sotw('node-x');
  const y = h.sotw('node-y');
  x.request(CDS);
  y.request(CDS);
  const [rx, ry] = await Promise.all([x.next(), y.next()]);
  assert.equal(rx.version_info, ry.version_info);
  assert.notEqual(rx.nonce, ry.nonce);
});
