// Make before break across types on one SotW ADS stream.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { CDS, contents, EDS, harness, LDS, RDS, type SotwClient, type SotwResponse, type TypeUrl } from './helpers.ts';

let h: Awaited<ReturnType<typeof harness>>;
beforeEach(async () => (h = await harness()));
afterEach(() => h.done());

/** Last response per type, as the client tracks it. */
const last = new Map<string, SotwResponse>();

/** Subscribes to all four types and ACKs everything; returns the names each type subscribes. */
async function steady(c: SotwClient): Promise<Map<TypeUrl, string[]>> {
  last.clear();
  const names = new Map<TypeUrl, string[]>([
    [CDS, []],
    [EDS, ['c1', 'c2']],
    [LDS, []],
    [RDS, ['r1']],
  ]);
  for (const [type, n] of names) {
    c.request(type, n);
    const r = await c.next();
    last.set(type, r);
    c.ack(r, n);
  }
  return names;
}

const ackWith = (c: SotwClient, names: Map<TypeUrl, string[]>) => (r: SotwResponse) => {
  last.set(r.type_url, r);
  c.ack(r, names.get(r.type_url as TypeUrl));
};

test('pending types go out CDS → EDS → LDS → RDS; listeners and routes wait for the cluster answer', async () => {
  h.cache.put(CDS, 'c1').put(CDS, 'c2').put(EDS, 'c1').put(EDS, 'c2').put(LDS, 'l1').put(RDS, 'r1');
  const c = h.sotw();
  const names = await steady(c);
  const ack = ackWith(c, names);

  h.cache.put(RDS, 'r1', 'v2').put(LDS, 'l1', 'v2').put(EDS, 'c1', 'v2').put(CDS, 'c2', 'v2').commit();
  const cds = await c.next();
  assert.equal(cds.type_url, CDS);
  // EDS does not wait for the CDS ACK: Envoy ACKs CDS only once new clusters
  // are warm, which takes their endpoints.
  const eds = await c.next();
  assert.equal(eds.type_url, EDS);
  // Endpoints change again while CDS is unanswered: had LDS/RDS not waited for
  // the CDS answer, they would arrive before this second EDS response.
  h.cache.put(EDS, 'c1', 'v3').commit();
  ack(eds);
  const eds2 = await c.next();
  assert.equal(eds2.type_url, EDS);
  assert.deepEqual(contents(eds2), { c1: 'v3', c2: 'v1' });
  ack(cds);
  const lds = await c.next();
  const rds = await c.next(); // RDS does not wait for the LDS answer (its parent)
  assert.deepEqual([lds.type_url, rds.type_url], [LDS, RDS]);
  assert.deepEqual(contents(rds), { r1: 'v2' });
});

test('endpoint churn does not hold back listeners and routes', async () => {
  h.cache.put(CDS, 'c1').put(CDS, 'c2').put(EDS, 'c1').put(EDS, 'c2').put(LDS, 'l1').put(RDS, 'r1');
  const c = h.sotw();
  await steady(c);
  h.cache.put(EDS, 'c1', 'v2').commit();
  const eds = await c.next();
  assert.equal(eds.type_url, EDS);
  h.cache.put(RDS, 'r1', 'v2').commit(); // EDS still unanswered
  const rds = await c.next();
  assert.equal(rds.type_url, RDS);
});

test('clusters are removed only after the routes moved off them (make before break)', async () => {
  h.cache.put(CDS, 'c1').put(CDS, 'c2').put(EDS, 'c1').put(EDS, 'c2').put(LDS, 'l1').put(RDS, 'r1');
  const c = h.sotw();
  const names = await steady(c);
  const ack = ackWith(c, names);

  // New config: c1 replaced by c3, the route now points at c3.
  h.cache.del(CDS, 'c1').put(CDS, 'c3').del(EDS, 'c1').put(EDS, 'c3').put(RDS, 'r1', 'v2').commit();
  const make = await c.next();
  assert.equal(make.type_url, CDS);
  assert.deepEqual(contents(make), { c1: 'v1', c2: 'v1', c3: 'v1' }, 'additions first, c1 kept');
  // What Envoy does on seeing c3, before it ACKs the CDS response: ask for its
  // endpoints with a resource-hint request at the current EDS version.
  names.set(EDS, ['c1', 'c2', 'c3']);
  c.ack(last.get(EDS)!, names.get(EDS));
  ack(make);
  const eds = await c.next();
  assert.equal(eds.type_url, EDS);
  assert.deepEqual(Object.keys(contents(eds)).sort(), ['c2', 'c3']);
  ack(eds);
  const rds = await c.next();
  assert.equal(rds.type_url, RDS);
  ack(rds);
  const breakCds = await c.next();
  assert.equal(breakCds.type_url, CDS);
  assert.deepEqual(contents(breakCds), { c2: 'v1', c3: 'v1' }, 'c1 removed last');
});

test('a pure removal waits for the dependent route update, then goes out', async () => {
  h.cache.put(CDS, 'c1').put(CDS, 'c2').put(EDS, 'c1').put(EDS, 'c2').put(LDS, 'l1').put(RDS, 'r1');
  const c = h.sotw();
  const names = await steady(c);
  const ack = ackWith(c, names);

  h.cache.del(CDS, 'c2').put(RDS, 'r1', 'v2').commit();
  const rds = await c.next();
  assert.equal(rds.type_url, RDS, 'the route moves first');
  ack(rds);
  const cds = await c.next();
  assert.equal(cds.type_url, CDS);
  assert.deepEqual(contents(cds), { c1: 'v1' });
});

test('a changed cluster gets its unchanged endpoints again (Envoy re-warms it)', async () => {
  h.cache.put(CDS, 'c1').put(CDS, 'c2').put(EDS, 'c1').put(EDS, 'c2').put(LDS, 'l1').put(RDS, 'r1');
  const c = h.sotw();
  const names = await steady(c);
  const ack = ackWith(c, names);

  h.cache.put(CDS, 'c1', 'v2').commit();
  const cds = await c.next();
  assert.deepEqual(contents(cds), { c1: 'v2', c2: 'v1' });
  ack(cds);
  const eds = await c.next();
  assert.equal(eds.type_url, EDS);
  assert.deepEqual(contents(eds), { c1: 'v1', c2: 'v1' });
});
