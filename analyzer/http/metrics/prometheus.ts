// Prometheus text exposition (format 0.0.4), written by hand: the analyzer
// exports a dozen series and needs no client library for that.

export type Labels = Record<string, string>;

export class Exposition {
  private out: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, value: number, labels: Labels = {}): this {
    this.out.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  /** One family with a sample per label value (e.g. rejected records by reason). */
  byLabel(name: string, type: 'counter' | 'gauge', help: string, label: string, values: Record<string, number>): this {
    this.family(name, type, help);
    const keys = Object.keys(values).sort();
    for (const k of keys) this.sample(name, values[k], { [label]: k });
    return this;
  }

  histogram(name: string, help: string, h: Histogram): this {
    this.family(name, 'histogram', help);
    let cumulative = 0;
    h.bounds.forEach((le, i) => {
      cumulative += h.counts[i];
      this.sample(`${name}_bucket`, cumulative, { le: formatValue(le) });
    });
    this.sample(`${name}_bucket`, h.count, { le: '+Inf' });
    this.sample(`${name}_sum`, h.sum);
    this.sample(`${name}_count`, h.count);
    return this;
  }

  text(): string {
    return `${this.out.join('\n')}\n`;
  }
}

export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    const i = this.bounds.findIndex((b) => v <= b);
    if (i !== -1) this.counts[i]++;
  }
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
