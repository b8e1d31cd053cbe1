// GET /metrics: Prometheus text. The plugin owns its scope-change listener
// and removes it when the app closes.
import type { FastifyPluginAsync } from 'fastify';
import type { MetricFamily } from '../../../contracts/index.ts';
import type { Analyzer } from '../../index.ts';
import type { PushLatency } from '../metrics/push-latency.ts';
import { Exposition } from '../metrics/prometheus.ts';
import { LAG_WINDOW_MS, LagWindow } from '../metrics/event-loop-lag.ts';

export interface MetricsDeps {
  analyzer: Analyzer;
  push?: PushLatency;
  proxyCount?: () => number;
  /** Transport counters, e.g. `kafka_messages_total` → n; exported with the `meshscope_` prefix. */
  sources?: () => Record<string, number>;
  families?: () => MetricFamily[];
}

export const metricsRoutes: FastifyPluginAsync<MetricsDeps> = async (app, deps) => {
  const { analyzer } = deps;
  let scopeChanges = 0;
  const onScope = () => scopeChanges++;
  analyzer.on('scope', onScope);
  const lag = new LagWindow();
  app.addHook('onClose', async () => {
    analyzer.off('scope', onScope);
    lag.close();
  });

  app.get('/metrics', { schema: { tags: ['health'], summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_req, reply) => {
    // Every figure here is a maintained counter: a scrape costs the same whatever the graph, mesh or proxy count.
    const s = analyzer.stats();
    const x = new Exposition()
      .family('meshscope_records_total', 'counter', 'Access-log records received, every transport')
      .sample('meshscope_records_total', s.records)
      .family('meshscope_records_accepted_total', 'counter', 'Records that became (or confirmed) an edge')
      .sample('meshscope_records_accepted_total', s.accepted)
      .family('meshscope_records_duplicate_total', 'counter', 'Redelivered records counted once (same request id)')
      .sample('meshscope_records_duplicate_total', s.duplicates)
      .byLabel('meshscope_records_rejected_total', 'counter', 'Unusable records, by reason', 'reason', s.rejectedByReason)
      .byLabel('meshscope_records_unresolved_total', 'counter', 'Records whose caller or destination is not in the inventory', 'kind', s.unresolvedByKind)
      .family('meshscope_graph_edges', 'gauge', 'Service-level edges in scope')
      .sample('meshscope_graph_edges', s.edges)
      .family('meshscope_graph_services', 'gauge', 'Services in the inventory')
      .sample('meshscope_graph_services', analyzer.inventory.services.length)
      .family('meshscope_scope_changes_total', 'counter', 'Service scopes changed since start')
      .sample('meshscope_scope_changes_total', scopeChanges)
      .family('meshscope_store_flush_failures_total', 'counter', 'Failed attempts to make ingested records durable (retried with back-off)')
      .sample('meshscope_store_flush_failures_total', analyzer.storeHealth.failures)
      .family('meshscope_store_failing', 'gauge', '1 while the store fails to write (then /readyz answers 503)')
      .sample('meshscope_store_failing', analyzer.storeHealth.failing ? 1 : 0);
    x.family('meshscope_event_loop_lag_seconds', 'gauge', `Event-loop delay over the last ${LAG_WINDOW_MS / 1000}-${(2 * LAG_WINDOW_MS) / 1000} s (quantile 1 = the worst)`);
    for (const q of [50, 99, 100]) x.sample('meshscope_event_loop_lag_seconds', lag.seconds(q), { quantile: String(q / 100) });
    if (deps.proxyCount) x.family('meshscope_xds_proxies', 'gauge', 'Connected xDS proxies').sample('meshscope_xds_proxies', deps.proxyCount());
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
