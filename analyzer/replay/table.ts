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

/** `--summary`: the same run in a few lines, whatever the mesh's size. */
export function formatSummary(r: ReplayResult): string {
  const { report } = r;
  const out = [
    `fixture ${report.fixture}: ${report.records} records, ${report.rejected} rejected, ${report.unresolved} unresolved` +
      `${r.duplicates ? `, ${r.duplicates} duplicates` : ''}; ${report.services} services, ${report.edges} edges`,
  ];
  const scopes = Object.entries(report.scopes);
  if (scopes.length > 0) {
    const sizes = scopes.map(([, deps]) => deps.length);
    const largest = scopes.reduce((a, b) => (b[1].length > a[1].length ? b : a));
    out.push(
      `scopes: ${sizes.filter((n) => n > 0).length} of ${scopes.length} services call others, ${sizes.filter((n) => n === 0).length} call none; ` +
        `median ${median(sizes)}, largest ${largest[1].length} (${largest[0]})`,
    );
  }
  if (report.proxies.length > 0) {
    const scoped = report.proxies.map((p) => p.bytesScoped);
    const full = report.proxies.map((p) => p.bytesFull);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    out.push(
      `proxies: ${report.proxies.length}; config per proxy median ${size(median(scoped))} scoped vs ${size(median(full))} full; ` +
        `all proxies ${size(sum(scoped))} vs ${size(sum(full))} (${saved(sum(scoped), sum(full))} saved)`,
    );
  }
  if (r.rejected.length > 0) out.push(`rejected: ${r.rejected.map((e) => `${e.reason} ${e.count}${e.samples.length ? ` (${e.samples.at(-1)!.ref})` : ''}`).join(', ')}`);
  if (r.unresolved.length > 0) {
    const top = r.unresolved.slice(0, 3).map((u) => `${u.key} ${u.count}`);
    out.push(`unresolved: ${r.unresolved.length} hosts or callers, most frequent ${top.join(', ')}`);
  }
  if (report.check) {
    const differ = [...new Set([...Object.keys(report.check.missing), ...Object.keys(report.check.unexpected)])].sort();
    out.push(
      report.check.ok
        ? 'check: OK (scopes match expected.yaml)'
        : `check: FAILED, ${differ.length} services differ from expected.yaml (${differ.slice(0, 5).join(', ')}${differ.length > 5 ? ', …' : ''}); the full report without --summary lists them`,
    );
  }
  return `${out.join('\n')}\n`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)];
}

function size(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return kib(n);
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
  if (full <= 0) return '-';
  const pct = Math.round((1 - scoped / full) * 100);
  // Scoping never saves everything: a proxy keeps its own listeners and the gateway.
  return pct === 100 && scoped > 0 ? '>99%' : `${pct}%`;
}
