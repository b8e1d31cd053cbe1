// The prune grace on its own: a timer per unneeded Sidecar that asks for
// another prune when it ends (waited for by its callback, not by sleeping),
// cancelled when the group comes back and by close().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PruneGrace } from '../../istio-sidecars/prune-grace.ts';

describe('prune grace', () => {
  it('says "not yet" until the grace period is over, then asks for a prune and says "now"', async () => {
    let expired!: () => void;
    const asked = new Promise<void>((resolve) => (expired = resolve));
    const logs: string[] = [];
    const grace = new PruneGrace(50, () => expired(), (m) => logs.push(m));
    const t0 = Date.now();
    assert.equal(grace.over('shop/meshscope-a'), false);
    assert.equal(grace.over('shop/meshscope-a'), false, 'asking again does not restart or end it');
    const [entry] = grace.list();
    assert.equal(entry.key, 'shop/meshscope-a');
    assert.ok(Date.parse(entry.due) - Date.parse(entry.since) === 50 && Date.parse(entry.since) >= t0);
    assert.match(logs[0], /^istio sidecars: no workload group needs shop\/meshscope-a; deleting it at \S+Z unless its workloads come back$/);
    await asked;
    assert.equal(grace.over('shop/meshscope-a'), true);
    assert.equal(grace.cancel('shop/meshscope-a'), true);
    assert.equal(grace.size, 0);
  });

  it('a cancelled or closed one never fires; keepOnly cancels the rest; 0 means at once', async () => {
    let fired = 0;
    const grace = new PruneGrace(60_000, () => fired++, () => {});
    grace.over('a/x');
    grace.over('a/y');
    grace.over('a/z');
    grace.keepOnly(new Set(['a/y', 'a/z']));
    assert.deepEqual(grace.list().map((e) => e.key), ['a/y', 'a/z']);
    assert.equal(grace.cancel('a/x'), false, 'nothing was pending for it');
    grace.close();
    assert.equal(grace.size, 0);
    // No timer left: this test file's process would otherwise stay up for a minute.
    assert.equal(fired, 0);
    assert.equal(new PruneGrace(0, () => fired++, () => {}).over('a/x'), true);
    assert.equal(fired, 0);
  });
});
