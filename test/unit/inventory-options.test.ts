// Where the inventory comes from, as every command reads it: --mesh or
// --kubeconfig (or in-cluster credentials), never both, and namespace selectors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError, inventoryOption } from '../../cli/options.ts';
import { NamespaceSelection, parseLabelSelector } from '../../contracts/inventory/kubernetes/namespaces.ts';
import { parseAnalyzerArgs } from '../../analyzer/cli.ts';

test('--mesh or --kubeconfig: one of them, clear errors otherwise', () => {
  assert.deepEqual(inventoryOption({ mesh: 'm.yaml' }, {}), { mesh: 'm.yaml' });
  assert.deepEqual(inventoryOption({ kubeconfig: 'kc', 'namespace-selector': ['mesh=on', 'team'] }, {}), {
    kubernetes: { kubeconfig: 'kc', namespaceSelectors: [[{ key: 'mesh', op: '=', value: 'on' }], [{ key: 'team', op: 'exists' }]] },
  });
  assert.throws(() => inventoryOption({ mesh: 'm', kubeconfig: 'kc' }, {}), (e: unknown) => e instanceof UsageError && /not both/.test(e.message));
  assert.throws(() => inventoryOption({}, {}), /--mesh FILE is required, or --kubeconfig FILE/);
  assert.throws(() => inventoryOption({ mesh: 'm', 'namespace-selector': ['a=b'] }, {}), /--namespace-selector needs --kubeconfig/);
  assert.throws(() => inventoryOption({ kubeconfig: 'kc', 'namespace-selector': ['a=b=c'] }, {}), /--namespace-selector "a=b=c": cannot read "a=b=c"/);
  // In a pod, neither flag means its own service account.
  assert.deepEqual(inventoryOption({}, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }), { kubernetes: { kubeconfig: undefined, namespaceSelectors: [] } });
  assert.deepEqual(parseAnalyzerArgs(['--kubeconfig', 'kc', '--data', 'd'], {}).kubernetes, { kubeconfig: 'kc', namespaceSelectors: [] });
  assert.throws(() => parseAnalyzerArgs(['--kubeconfig', 'kc', '--mesh', 'm', '--data', 'd'], {}), /not both/);
});

test('namespace selection: selectors ORed, terms ANDed, system namespaces always out', () => {
  const sel = new NamespaceSelection([parseLabelSelector('mesh=on,tier!=test'), parseLabelSelector('!legacy,team')], ['meshscope']);
  assert.equal(sel.includes('shop', { mesh: 'on' }), true);
  assert.equal(sel.includes('shop', { mesh: 'on', tier: 'test' }), false);
  assert.equal(sel.includes('ads', { team: 'ads' }), true);
  assert.equal(sel.includes('ads', { team: 'ads', legacy: '' }), false);
  assert.equal(sel.includes('kube-system', { mesh: 'on' }), false);
  assert.equal(sel.includes('istio-system', { mesh: 'on' }), false);
  assert.equal(sel.includes('meshscope', { mesh: 'on' }), false);
  const all = new NamespaceSelection();
  assert.equal(all.includes('anything', {}), true);
  assert.equal(all.includes('kube-node-lease', {}), false);
  assert.deepEqual(parseLabelSelector('app.kubernetes.io/part-of==shop'), [{ key: 'app.kubernetes.io/part-of', op: '=', value: 'shop' }]);
});
