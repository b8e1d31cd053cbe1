// Several scope sinks (the xDS server, an Istio Sidecar writer…): each is handed
// every current scope when it attaches, hears each change, and can detach.
// An inventory version derived by delta recomputes only the scopes it can touch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScopeTarget } from '../../contracts/index.ts';
import { PAGE, call, inputs, open } from './mesh.ts';

class Sink implements ScopeTarget {
  calls: Array<[string, string[]]> = [];
  setServiceScope(service: string, deps: Iterable<string>): void {
    this.calls.push([service, [...deps]]);
  }
  setWorkloadScope(): void {
    throw new Error('the analyzer sets no workload overrides');
  }
}

test('two sinks: both hear every change; a late one is handed the current scopes; detach stops one', async () => {
  const { analyzer } = open();
  const first = new Sink();
  const detachFirst = analyzer.attach(first);
  analyzer.ingest(inputs(call(PAGE, 'reviews')));
  const second = new Sink();
  analyzer.attach(second);
  assert.equal(second.calls.length, analyzer.inventory.services.length, 'handed every scope on attach');
  assert.deepEqual(second.calls.find(([s]) => s === 'productpage.default'), ['productpage.default', ['reviews.default']]);
  first.calls = [];
  second.calls = [];
  analyzer.ingest(inputs(call(PAGE, 'ratings')));
  const expected: Array<[string, string[]]> = [['productpage.default', ['ratings.default', 'reviews.default']]];
  assert.deepEqual(first.calls, expected);
  assert.deepEqual(second.calls, expected, 'the second sink did not replace the first');
  detachFirst();
  analyzer.ingest(inputs(call(PAGE, 'cart.shop')));
  assert.equal(first.calls.length, 1, 'a detached sink hears nothing more');
  assert.equal(second.calls.length, 2);
  await analyzer.close();
});

test('an inventory delta recomputes only the scopes it touches', async () => {
  const { analyzer } = open();
  const sink = new Sink();
  analyzer.attach(sink);
  analyzer.ingest(inputs(call(PAGE, 'reviews'), call(PAGE, 'ratings')));
  sink.calls = [];
  const inv = analyzer.inventory;
  const reviews = inv.service('reviews.default')!;
  // An endpoint change: no scope changes, no sink call.
  const moved = inv.apply({ services: [{ ...reviews, workloads: reviews.workloads.map((w) => ({ ...w, address: w.address.replace('10.244.1.', '10.244.9.') })) }] });
  assert.deepEqual([...moved.changedSince(inv)!], ['reviews.default']);
  assert.deepEqual(analyzer.setInventory(moved), []);
  assert.deepEqual(sink.calls, []);
  // Removing a destination: its callers' scopes shrink, and only theirs.
  const without = moved.apply({ removeServices: ['ratings.default'] });
  assert.deepEqual(analyzer.setInventory(without), ['productpage.default']);
  assert.deepEqual(sink.calls, [['productpage.default', ['reviews.default']]]);
  // It comes back: the sinks hear of it (its own empty scope), the edge is remembered and the caller's scope grows again.
  sink.calls = [];
  assert.deepEqual(analyzer.setInventory(without.apply({ services: [inv.service('ratings.default')!] })), ['ratings.default', 'productpage.default']);
  assert.deepEqual(sink.calls, [['ratings.default', []], ['productpage.default', ['ratings.default', 'reviews.default']]]);
  await analyzer.close();
});
