import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Inventory, parseMesh, type ScopeTarget } from '../../contracts/index.ts';
import { CART, DAY, MESH, PAGE, T0, call, inputs, open } from './mesh.ts';

/** Records every call the analyzer makes, in order. */
class RecordingTarget implements ScopeTarget {
  calls: Array<[string, string[]]> = [];
  setServiceScope(service: string, deps: Iterable<string>): void {
    this.calls.push([service, [...deps]]);
  }
  setWorkloadScope(): void {
    throw new Error('the analyzer sets no workload overrides');
  }
}

test('a new edge changes the scope at once and calls the target for that source only', async () => {
  const target = new RecordingTarget();
  const { analyzer } = open({ target });
  // attach() hands over every scope first.
  assert.equal(target.calls.length, analyzer.inventory.services.length);
  target.calls = [];
  analyzer.ingest(inputs(call(PAGE, 'reviews')));
  assert.deepEqual(target.calls, [['productpage.default', ['reviews.default']]]);
  // A known edge changes nothing.
  analyzer.ingest(inputs(call(PAGE, 'reviews', T0 + 1), call(PAGE, 'reviews.default', T0 + 2)));
  assert.equal(target.calls.length, 1);
  // Two new edges of one source in one batch: one call with both.
  analyzer.ingest(inputs(call(CART, 'ratings'), call(CART, 'ratings.default')));
  assert.deepEqual(target.calls.slice(1), [['cart.shop', ['ratings.default', 'ratings.shop']]]);
  await analyzer.close();
});

test('TTL expiry with hysteresis, on a virtual clock', async () => {
  const ttl = 7 * DAY;
  const grace = DAY;
  const target = new RecordingTarget();
  const { analyzer, clock } = open({ dependencyTtlMs: ttl, graceMs: grace, target });
  analyzer.ingest(inputs(call(PAGE, 'reviews', T0), call(PAGE, 'ratings', T0)));
  target.calls = [];

  // Past the TTL but within the grace: still in scope.
  clock.set(T0 + ttl + grace - 1);
  assert.deepEqual(analyzer.checkExpiry(), []);
  assert.deepEqual(analyzer.scope('productpage.default'), ['ratings.default', 'reviews.default']);

  // A call near the TTL keeps the edge: the deadline moves with last seen.
  analyzer.ingest(inputs(call(PAGE, 'reviews', T0 + ttl + grace - 1)));
  clock.set(T0 + ttl + grace + 1);
  assert.deepEqual(analyzer.checkExpiry(), ['productpage.default']);
  assert.deepEqual(analyzer.scope('productpage.default'), ['reviews.default']);
  assert.deepEqual(target.calls, [['productpage.default', ['reviews.default']]]);
  assert.equal(analyzer.edges({ includeExpired: true }).find((e) => e.kind === 'service' && e.dest === 'ratings.default')?.active, false);

  // A stale record (older than the TTL, e.g. a backlog) does not bring it back...
  analyzer.ingest(inputs(call(PAGE, 'ratings', T0 + 10)));
  assert.deepEqual(analyzer.scope('productpage.default'), ['reviews.default']);
  // ...a fresh sighting does, at once.
  analyzer.ingest(inputs(call(PAGE, 'ratings', T0 + ttl + grace + 2)));
  assert.deepEqual(analyzer.scope('productpage.default'), ['ratings.default', 'reviews.default']);
  assert.deepEqual(target.calls.at(-1), ['productpage.default', ['ratings.default', 'reviews.default']]);
  await analyzer.close();
});

test('expiry also happens as record time passes the deadline (replay)', async () => {
  const { analyzer } = open({ dependencyTtlMs: DAY, graceMs: 0 });
  analyzer.ingest(inputs(call(PAGE, 'ratings', T0), call(PAGE, 'reviews', T0)));
  analyzer.ingest(inputs(call(PAGE, 'reviews', T0 + DAY / 2)));
  assert.deepEqual(analyzer.scope('productpage.default'), ['ratings.default', 'reviews.default']);
  analyzer.ingest(inputs(call(PAGE, 'reviews', T0 + DAY + 1)));
  assert.deepEqual(analyzer.scope('productpage.default'), ['reviews.default']);
  await analyzer.close();
});

test('pins and rules join the scope, are validated, and leave it when removed', async () => {
  const target = new RecordingTarget();
  const { analyzer } = open({ target });
  target.calls = [];
  assert.deepEqual(await analyzer.pin('productpage.default', 'cart.shop'), ['cart.shop']);
  assert.deepEqual(target.calls, [['productpage.default', ['cart.shop']]]);
  await assert.rejects(analyzer.pin('productpage.default', 'nope.default'), /pin\.dest: nope\.default is not a service/);

  // A namespace rule for every caller of namespace shop (not the caller itself).
  await analyzer.addRule({ id: 'shop-sees-shop', source: '*.shop', namespace: 'shop' });
  assert.deepEqual(analyzer.scope('cart.shop'), ['ratings.shop']);
  assert.deepEqual(analyzer.scope('ratings.shop'), ['cart.shop']);
  assert.deepEqual(analyzer.scope('reviews.default'), []);
  // A label selector for one caller.
  await analyzer.addRule({ id: 'stars', source: 'loadgen.default', selector: { team: 'stars' } });
  assert.deepEqual(analyzer.scope('loadgen.default'), ['ratings.default', 'ratings.shop']);
  // Observed edges merge with rules and pins.
  analyzer.ingest(inputs(call(PAGE, 'reviews')));
  assert.deepEqual(analyzer.scope('productpage.default'), ['cart.shop', 'reviews.default']);

  await assert.rejects(analyzer.addRule({ id: 'x', source: 'loadgen.default', namespace: 'shop', selector: { a: 'b' } }), /exactly one of namespace .* or selector/);
  await assert.rejects(analyzer.addRule({ id: 'x', source: 'not a service' }), /rule\.source/);
  await assert.rejects(analyzer.addRule({ id: 'x', source: '*', selector: {} }), /rule\.selector/);

  target.calls = [];
  assert.equal(await analyzer.removeRule('stars'), true);
  assert.equal(await analyzer.unpin('productpage.default', 'cart.shop'), true);
  assert.deepEqual(target.calls, [['loadgen.default', []], ['productpage.default', ['reviews.default']]]);
  assert.equal(await analyzer.removeRule('stars'), false);
  await analyzer.close();
});

test('a new inventory re-resolves and drops services it no longer lists from every scope', async () => {
  const target = new RecordingTarget();
  const { analyzer } = open({ target });
  analyzer.ingest(inputs(call(PAGE, 'reviews'), call(PAGE, 'cart.shop'), call(PAGE, 'payments.shop')));
  assert.deepEqual(analyzer.scope('productpage.default'), ['cart.shop', 'reviews.default']);
  const next = new Inventory(parseMesh(MESH.replace('  - name: cart\n', '  - name: payments\n').replace('cart-0', 'payments-0'), 'next.yaml'));
  target.calls = [];
  analyzer.setInventory(next);
  assert.deepEqual(analyzer.scope('productpage.default'), ['reviews.default']);
  assert.deepEqual(target.calls.find(([s]) => s === 'productpage.default'), ['productpage.default', ['reviews.default']]);
  analyzer.ingest(inputs(call(PAGE, 'payments.shop', T0 + 1)));
  assert.deepEqual(analyzer.scope('productpage.default'), ['payments.shop', 'reviews.default']);
  await analyzer.close();
});
