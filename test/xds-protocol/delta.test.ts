// Incremental ADS against the real server and a real grpc-js client.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { CDS, deltaContents, EDS, harness, LDS, waitFor } from './helpers.ts';

let h: Awaited<ReturnType<typeof harness>>;
beforeEach(async () => (h = await harness()));
afterEach(() => h.done());

test('wildcard: all resources first, then only what changed, removals in removed_resources', async () => {
  h.cache.put(CDS, 'c1').put(CDS, 'c2');
  const c = h.delta();
  c.request(CDS);
  const r1 = await c.next();
  assert.deepEqual(deltaContents(r1), { c1: 'v1', c2: 'v1' });
  assert.ok(r1.system_version_info && r1.nonce);
  c.ack(r1);
  h.cache.put(CDS, 'c2', 'v2').put(CDS, 'c3').commit();
  const r2 = await c.next();
  assert.deepEqual(deltaContents(r2), { c2: 'v2', c3: 'v1' });
  c.ack(r2);
  h.cache.del(CDS, 'c1').commit();
  const r3 = await c.next();
  assert.deepEqual(r3.resources ?? [], []);
  assert.deepEqual(r3.removed_resources, ['c1']);
});

test('explicit names: missing ones reported removed, sent when they appear, forgotten on unsubscribe', async () => {
  h.cache.put(EDS, 'e1');
  const c = h.delta();
  c.request(EDS, { resource_names_subscribe: ['e1', 'e2'] });
  const r1 = await c.next();
  assert.deepEqual(deltaContents(r1), { e1: 'v1' });
  assert.deepEqual(r1.removed_resources, ['e2'], 'a subscribed name that does not exist');
  c.ack(r1);
  h.cache.put(EDS, 'e2').commit();
  const r2 = await c.next();
  assert.deepEqual(deltaContents(r2), { e2: 'v1' });
  c.ack(r2, { resource_names_unsubscribe: ['e1'] });
  h.cache.put(EDS, 'e1', 'v2').commit();
  h.cache.del(EDS, 'e1').commit();
  h.cache.put(EDS, 'e2', 'v2').commit();
  const r3 = await c.next(); // nothing about e1, neither its change nor its removal
  assert.deepEqual(deltaContents(r3), { e2: 'v2' });
  assert.deepEqual(r3.removed_resources ?? [], []);
  assert.deepEqual(h.cache.subscribedCalls.map((s) => s.names), [['e1', 'e2'], ['e2']]);
});

test('reconnect with initial_resource_versions sends only the differences', async () => {
  h.cache.put(CDS, 'c1').put(CDS, 'c2', 'v2').put(CDS, 'c3');
  const c = h.delta();
  c.request(CDS, { initial_resource_versions: { c1: 'v1', c2: 'v1', gone: 'v1' } });
  const r = await c.next();
  assert.deepEqual(deltaContents(r), { c2: 'v2', c3: 'v1' });
  assert.deepEqual(r.removed_resources, ['gone']);
});

test('reconnect holding exactly the current resources gets nothing until a change', async () => {
  h.cache.put(EDS, 'e1');
  const c = h.delta();
  c.request(EDS, { resource_names_subscribe: ['e1'], initial_resource_versions: { e1: 'v1' } });
  await waitFor(() => h.cache.subscribedCalls.length, 'the subscription');
  h.cache.put(EDS, 'e1', 'v2').commit();
  const r = await c.next();
  assert.deepEqual(deltaContents(r), { e1: 'v2' });
});

test('a resubscribed name is sent again even though the client should have it', async () => {
  h.cache.put(EDS, 'e1');
  const c = h.delta();
  c.request(EDS, { resource_names_subscribe: ['e1'] });
  const r1 = await c.next();
  c.ack(r1, { resource_names_subscribe: ['e1'] });
  const r2 = await c.next();
  assert.deepEqual(deltaContents(r2), { e1: 'v1' });
});

test('subscription changes on a stale or absent nonce count; the response waits for the ACK', async () => {
  h.cache.put(EDS, 'e1').put(EDS, 'e2');
  const c = h.delta();
  c.request(EDS, { resource_names_subscribe: ['e1'] });
  const r1 = await c.next();
  c.send({ type_url: EDS, resource_names_subscribe: ['e2'] }); // spontaneous, no nonce
  await waitFor(() => h.cache.subscribedCalls.length === 2, 'the second subscription');
  h.cache.put(EDS, 'e1', 'v2').commit();
  c.ack(r1);
  const r2 = await c.next();
  assert.deepEqual(deltaContents(r2), { e1: 'v2', e2: 'v1' });
});

test('NACK is recorded and the rejected versions are not resent', async () => {
  h.cache.put(CDS, 'c1');
  const c = h.delta();
  c.request(CDS);
  const r1 = await c.next();
  c.nack(r1, 'c1: unknown field');
  await waitFor(() => h.server.status.get('node-a')?.types[CDS]?.lastNack, 'the NACK');
  h.cache.put(CDS, 'c2').commit();
  const r2 = await c.next();
  assert.deepEqual(deltaContents(r2), { c2: 'v1' }, 'c1 is not sent again');
  assert.equal(h.server.status.get('node-a')!.types[CDS].lastNack!.message, 'c1: unknown field');
});

test('wildcard plus a name: unsubscribing the name says whether the wildcard still covers it', async () => {
  h.cache.put(LDS, 'l1');
  const c = h.delta();
  c.request(LDS);
  const r1 = await c.next();
  assert.deepEqual(deltaContents(r1), { l1: 'v1' });
  c.ack(r1, { resource_names_subscribe: ['l1', 'lx'] });
  const r2 = await c.next();
  assert.deepEqual(deltaContents(r2), { l1: 'v1' });
  assert.deepEqual(r2.removed_resources, ['lx']);
  c.ack(r2, { resource_names_unsubscribe: ['l1', 'lx'] });
  const r3 = await c.next();
  assert.deepEqual(deltaContents(r3), { l1: 'v1' }, 'still covered by the wildcard');
  assert.deepEqual(r3.removed_resources, ['lx'], 'not covered');
  c.ack(r3, { resource_names_unsubscribe: ['*'] });
  h.cache.put(LDS, 'l1', 'v2').commit();
  h.cache.put(LDS, 'l2').commit();
  c.send({ type_url: LDS, resource_names_subscribe: ['l2'] });
  const r4 = await c.next();
  assert.deepEqual(deltaContents(r4), { l2: 'v1' }, 'after leaving the wildcard only named resources come');
});

test('cluster removal waits until the other types have settled', async () => {
  h.cache.put(CDS, 'c1').put(CDS, 'c2').put(LDS, 'l1');
  const c = h.delta();
  c.request(CDS);
  c.ack(await c.next());
  c.request(LDS);
  c.ack(await c.next());
  h.cache.del(CDS, 'c2').put(CDS, 'c3').put(LDS, 'l1', 'v2').commit();
  const make = await c.next();
  assert.equal(make.type_url, CDS);
  assert.deepEqual(deltaContents(make), { c3: 'v1' });
  assert.deepEqual(make.removed_resources ?? [], []);
  c.ack(make);
  const lds = await c.next();
  assert.equal(lds.type_url, LDS);
  c.ack(lds);
  const brk = await c.next();
  assert.equal(brk.type_url, CDS);
  assert.deepEqual(brk.removed_resources, ['c2']);
});
