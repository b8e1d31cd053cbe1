// GET /metrics: Prometheus text. The plugin owns its scope-change listener
// and removes it when the app closes.
import type { FastifyPluginAsync } from 'fastify';
import type { MetricFamily } from '../../../contracts/index.ts';
import type { Analyzer } from '../../index.ts';
import type { PushLatency } from '../metrics/push-latency.ts';
import { Exposition } from '../metrics/prometheus.ts';

export interface MetricsDeps {
  analyzer: Analyzer;
  push?: PushLatency;
  proxies?: () => unknown[];
  /** Transport counters, e.g. `kafka_messages_total` → n; exported with the `meshscope_` prefix. */
  sources?: () => Record<string, number>;
  families?: () => MetricFamily[];
}

export const metricsRoutes: FastifyPluginAsync<MetricsDeps> = async (app, deps) => {
  const { analyzer } = deps;
  let scopeChanges = 0;
  const onScope = () => scopeChanges++;
  analyzer.on('scope', onScope);
  app.addHook('onClose', async () => {
    analyzer.off('scope', onScope);
  });

  app.get('/metrics', { schema: { tags: ['health'], summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_req, reply) => {
    const s = analyzer.stats();
    const unresolvedByKind: Record<string, number> = { source: 0, destination: 0 };
    for (const u of analyzer.unresolved()) unresolvedByKind[u.kind] += u.count;
    const x = new Exposition()
      .family('meshscope_records_total', 'counter', 'Access-log records received, every transport')
      .sample('meshscope_records_total', s.records)
      .family('meshscope_records_accepted_total', 'counter', 'Records that became (or confirmed) an edge')
      .sample('meshscope_records_accepted_total', s.accepted)
      .family('meshscope_records_duplicate_total', 'counter', 'Redelivered records counted once (same request id)')
      .sample('meshscope_records_duplicate_total', s.duplicates)
      .byLabel('meshscope_records_rejected_total', 'counter', 'Unusable records, by reason', 'reason', s.rejectedByReason)
      .byLabel('meshscope_records_unresolved_total', 'counter', 'Records whose caller or destination is not in the inventory', 'kind', unresolvedByKind)
      .family('meshscope_graph_edges', 'gauge', 'Service-level edges in scope')
      .sample('meshscope_graph_edges', s.edges)
      .family('meshscope_graph_services', 'gauge', 'Services in the inventory')
      .sample('meshscope_graph_services', analyzer.inventory.services.length)
      .family('meshscope_scope_changes_total', 'counter', 'Service scopes changed since start')
      .sample('meshscope_scope_changes_total', scopeChanges);
    if (deps.proxies) x.family('meshscope_xds_proxies', 'gauge', 'Connected xDS proxies').sample('meshscope_xds_proxies', deps.proxies().length);
    if (deps.push) {
      x.histogram('meshscope_push_latency_seconds', 'Scope change to the proxy ACK of the new config', deps.push.histogram);
      x.family('meshscope_push_nacked_total', 'counter', 'Scope pushes a proxy rejected').sample('meshscope_push_nacked_total', deps.push.nacked);
    }
    for (const [name, v] of Object.entries(deps.sources?.() ?? {})) {
      x.family(`meshscope_${name}`, name.endsWith('_total') ? 'counter' : 'gauge', `Transport: ${name.replace(/_/g, ' ')}`).sample(`meshscope_${name}`, v);
    }
    for (const f of deps.families?.() ?? []) {
      x.family(f.name, f.type, f.help);
      for (const sample of f.samples) x.sample(f.name, sample.value, sample.labels);
    }
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(x.text());
  });
};
