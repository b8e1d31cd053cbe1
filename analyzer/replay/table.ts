// The replay report as a person reads it: the same facts as --json, plus
// where rejected lines are and which hosts were not in the inventory.
import type { ReplayResult } from './replay.ts';

export function formatTable(r: ReplayResult): string {
  const { report } = r;
  const out: string[] = [];
  out.push(
    `fixture ${report.fixture}: ${report.records} records, ${report.rejected} rejected, ${report.unresolved} unresolved` +
      `${r.duplicates ? `, ${r.duplicates} duplicates` : ''}; ${report.services} services, ${report.edges} edges`,
    '',
  );
  if (report.services === 0) out.push('mesh.yaml lists no services: nothing to scope');
  else out.push(...columns(['SOURCE', 'SCOPE'], Object.entries(report.scopes).map(([s, deps]) => [s, deps.length ? deps.join(', ') : '(none)'])));
  if (report.proxies.length > 0) {
    out.push(
      '',
      ...columns(
        ['WORKLOAD', 'CLUSTERS', 'SCOPED', 'FULL', 'SAVED'],
        report.proxies.map((p) => [p.workload, String(p.clusters), kib(p.bytesScoped), kib(p.bytesFull), saved(p.bytesScoped, p.bytesFull)]),
      ),
    );
  }
  if (r.rejected.length > 0) {
    out.push('', ...columns(['REJECTED', 'COUNT', 'LATEST (FILE:LINE)'], r.rejected.map((e) => [e.reason, String(e.count), e.samples.map((s) => s.ref).join(' ')])));
  }
  if (r.unresolved.length > 0) {
    out.push(
      '',
      ...columns(
        ['UNRESOLVED', 'HOST OR CALLER', 'FROM', 'COUNT'],
        r.unresolved.map((u) => [u.kind, u.key, u.source || '-', String(u.count)]),
      ),
    );
  }
  if (report.check) {
    out.push('', report.check.ok ? 'check: OK (scopes match expected.yaml)' : 'check: FAILED (scopes differ from expected.yaml)');
    for (const [s, deps] of Object.entries(report.check.missing)) out.push(`  ${s}: missing ${deps.join(', ')}`);
    for (const [s, deps] of Object.entries(report.check.unexpected)) out.push(`  ${s}: unexpected ${deps.join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}

function columns(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)];
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(1)} KiB`;
}

function saved(scoped: number, full: number): string {
  return full > 0 ? `${Math.round((1 - scoped / full) * 100)}%` : '-';
}
