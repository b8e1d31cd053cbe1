// The informer's first list against an API server that is busy or refuses:
// transient answers (429 while storage initializes, 5xx, refused connections)
// are waited for; a refusal that will not change (403) fails at once. The real
// API server paths (watch, 410 → relist, restart) are in test/k8s/.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeConnection } from '../../contracts/inventory/kubernetes/client.ts';
import { Informer } from '../../contracts/inventory/kubernetes/informer.ts';
import { trimNamespace, type NamespaceObj } from '../../contracts/inventory/kubernetes/objects.ts';

function connection(answers: Array<number | 'ok'>): KubeConnection & { calls: number } {
  const conn = {
    calls: 0,
    server: 'https://stub',
    config: undefined as never,
    getJson: async () => {
      const a = answers[Math.min(conn.calls++, answers.length - 1)];
      if (a === 'ok') return { metadata: { resourceVersion: '7' }, items: [{ metadata: { name: 'shop', resourceVersion: '3', labels: {} } }] };
      throw Object.assign(new Error(`HTTP ${a}`), { statusCode: a });
    },
    // The watch never reports anything here.
    watch: { watch: async () => new AbortController() } as never,
  };
  return conn;
}

function informer(conn: KubeConnection, seen: string[], logs: string[]): Informer<NamespaceObj> {
  return new Informer(conn, {
    path: '/api/v1/namespaces',
    transform: trimNamespace,
    handlers: { upsert: (n) => seen.push(n.name), remove: () => {} },
    log: (l) => logs.push(l),
  });
}

test('429 and 503 on the first list are waited out; the objects then arrive', async () => {
  const conn = connection([429, 503, 'ok']);
  const seen: string[] = [];
  const logs: string[] = [];
  const i = informer(conn, seen, logs);
  await i.start();
  i.stop();
  assert.equal(conn.calls, 3);
  assert.deepEqual(seen, ['shop']);
  assert.equal(logs.length, 1, 'one line per outage, not per attempt');
});

test('403 fails the start at once', async () => {
  const conn = connection([403, 'ok']);
  const i = informer(conn, [], []);
  await assert.rejects(i.start(), /HTTP 403/);
  assert.equal(conn.calls, 1);
});
