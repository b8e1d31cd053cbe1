// What a component hands the analyzer's /metrics for export: plain families,
// rendered in the Prometheus text format by whoever serves them.

export interface MetricFamily {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  samples: Array<{ labels?: Record<string, string>; value: number }>;
}
