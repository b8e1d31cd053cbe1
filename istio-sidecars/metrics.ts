// The writer's Prometheus families, handed to the analyzer's /metrics.
import type { MetricFamily } from '../contracts/index.ts';
import type { SidecarState, SidecarWriter } from './writer.ts';

const STATES: readonly SidecarState[] = ['pending', 'current', 'written', 'would-write', 'skipped', 'failed'];

export function sidecarMetrics(writer: SidecarWriter): MetricFamily[] {
  const { groups } = writer.status();
  const byState = new Map<SidecarState, number>(STATES.map((s) => [s, 0]));
  let skippedWorkloads = 0;
  for (const g of groups) {
    byState.set(g.state, (byState.get(g.state) ?? 0) + 1);
    if (g.state === 'skipped') skippedWorkloads += g.workloads.length;
  }
  const { applies, deletes, failures } = writer.counters;
  return [
    {
      name: 'meshscope_istio_sidecar_groups',
      type: 'gauge',
      help: 'Workload groups by the state of their Sidecar',
      samples: STATES.map((s) => ({ labels: { state: s }, value: byState.get(s) ?? 0 })),
    },
    {
      name: 'meshscope_istio_workloads_skipped',
      type: 'gauge',
      help: 'Workloads meshscope writes no Sidecar for (someone else owns one, or no selector can name them)',
      samples: [{ value: skippedWorkloads }],
    },
    {
      name: 'meshscope_istio_sidecar_writes_total',
      type: 'counter',
      help: 'Sidecar writes sent to the API server',
      samples: [
        { labels: { op: 'apply' }, value: applies },
        { labels: { op: 'delete' }, value: deletes },
      ],
    },
    {
      name: 'meshscope_istio_sidecar_prunes_pending',
      type: 'gauge',
      help: 'Sidecars no workload group needs, waiting out the prune grace period before deletion',
      samples: [{ value: writer.prunesPending }],
    },
    { name: 'meshscope_istio_sidecar_write_failures_total', type: 'counter', help: 'Sidecar writes the API server refused or that failed', samples: [{ value: failures }] },
  ];
}
