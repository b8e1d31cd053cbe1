// The prune record on its own: a grace period per unneeded Sidecar that asks
// for another prune when it ends (waited for by its callback, not by
// sleeping), cancelled when the group comes back and by close(); then what
// became of it, as status() and the prunes_pending metric report it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Prunes } from '../../istio-sidecars/prunes.ts';

const a = { namespace: 'shop', name: 'meshscope-a' };
const ref = (name: string) => ({ namespace: 'a', name });

describe('prunes', () => {
  it('says "not yet" until the grace period is over, then asks for a prune and says "now"', async () => {
    let expired!: () => void;
    const asked = new Promise<void>((resolve) => (expired = resolve));
    const logs: string[] = [];
    const prunes = new Prunes(50, () => expired(), (m) => logs.push(m));
    const t0 = Date.now();
    assert.equal(prunes.over(a), false);
    assert.equal(prunes.over(a), false, 'asking again does not restart or end it');
    const [entry] = prunes.list();
    assert.deepEqual([entry.namespace, entry.name, entry.state], ['shop', 'meshscope-a', 'pending']);
    assert.equal(entry.reason, 'no workload group needs it; deleted at `due` unless its workloads come back');
    assert.ok(Date.parse(entry.due!) - Date.parse(entry.at) === 50 && Date.parse(entry.at) >= t0);
    assert.match(logs[0], /^istio sidecars: no workload group needs shop\/meshscope-a; deleting it at \S+Z unless its workloads come back$/);
    await asked;
    assert.equal(prunes.over(a), true);
    assert.equal(prunes.pending, 1, 'over, but not deleted yet');
    prunes.wanted(a);
    assert.equal(logs[1], 'istio sidecars: shop/meshscope-a is needed again within the grace period; kept');
    assert.equal(prunes.pending, 0);
    assert.deepEqual(prunes.list(), []);
  });

  it('a cancelled or closed one never fires; keepOnly cancels the rest; 0 means at once', async () => {
    let fired = 0;
    const logs: string[] = [];
    const prunes = new Prunes(60_000, () => fired++, (m) => logs.push(m));
    prunes.over(ref('x'));
    prunes.over(ref('y'));
    prunes.over(ref('z'));
    prunes.keepOnly([ref('y'), ref('z')]);
    assert.deepEqual(prunes.list().map((e) => e.name), ['y', 'z']);
    prunes.wanted(ref('x'));
    assert.equal(logs.length, 3, 'nothing was pending for x: no "needed again"');
    prunes.close();
    assert.equal(prunes.pending, 0);
    // No timer left: this test file's process would otherwise stay up for a minute.
    assert.equal(fired, 0);
    assert.equal(new Prunes(0, () => fired++, () => {}).over(ref('x')), true);
    assert.equal(fired, 0);
  });

  it('records what became of each: deleted ends the grace; would-delete and failed keep it (the next prune tries again)', () => {
    const prunes = new Prunes(60_000, () => {}, () => {});
    prunes.record(ref('gone'), 'deleted');
    prunes.over(ref('dry'));
    prunes.over(ref('bad'));
    prunes.over(ref('wait'));
    assert.equal(prunes.record(ref('dry'), 'would-delete'), undefined);
    assert.equal(prunes.record(ref('dry'), 'would-delete'), 'would-delete', 'the previous outcome: the writer logs a would-delete once');
    prunes.record(ref('bad'), 'failed', 'delete Sidecar a/bad: 409 changed');
    assert.equal(prunes.pending, 3);
    assert.deepEqual(
      prunes.list().map(({ name, state, reason, due }) => [name, state, reason, due !== undefined]),
      [
        // In their grace period first, in the order it started; what was done says more than that it was due.
        ['dry', 'would-delete', undefined, false],
        ['bad', 'failed', 'delete Sidecar a/bad: 409 changed', false],
        ['wait', 'pending', 'no workload group needs it; deleted at `due` unless its workloads come back', true],
        ['gone', 'deleted', undefined, false],
      ],
    );
    assert.deepEqual(Object.keys(prunes.list()[3]), ['namespace', 'name', 'state', 'at']);

    prunes.record(ref('bad'), 'deleted');
    assert.equal(prunes.pending, 2);
    // The Sidecar went under it: its grace ends, what was done stays reported.
    prunes.keepOnly([ref('wait')]);
    assert.equal(prunes.pending, 1);
    assert.deepEqual(prunes.list().map((e) => [e.name, e.state]), [['wait', 'pending'], ['gone', 'deleted'], ['dry', 'would-delete'], ['bad', 'deleted']]);
    // Its group came back: nothing about it is reported any more.
    prunes.wanted(ref('gone'));
    prunes.close();
    assert.deepEqual(prunes.list().map((e) => [e.name, e.state]), [['dry', 'would-delete'], ['bad', 'deleted']]);
  });

  it('lists outcomes in the order they came, not the order the grace periods started (a prune deletes in the view\'s order)', () => {
    const prunes = new Prunes(60_000, () => {}, () => {});
    prunes.over(ref('x'));
    prunes.over(ref('y'));
    prunes.record(ref('y'), 'deleted');
    prunes.record(ref('x'), 'deleted');
    assert.deepEqual(prunes.list().map((e) => e.name), ['y', 'x']);
    // A grace that starts after an outcome (a step-back delete failed, then its group went) lists it after those already waiting.
    prunes.over(ref('z'));
    prunes.record(ref('w'), 'failed', 'refused');
    prunes.over(ref('w'));
    assert.deepEqual(prunes.list().map((e) => e.name), ['z', 'w', 'y', 'x']);
    prunes.close();
  });
});
