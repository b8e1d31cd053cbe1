// What one endpoint change costs at N services, before and after inventory
// deltas: the old path (a whole new Inventory hashing the whole mesh, every
// consumer revisiting every service) against the delta path (Inventory.apply,
// consumers revisiting the changed service). In-process CPU time, medians.
//   node --import tsx bench/inventory-delta.ts [services=10000] [endpoints=10]
import { createHash } from 'node:crypto';
import { Analyzer } from '../analyzer/index.ts';
import { Inventory, type MeshSpec, type Service } from '../contracts/index.ts';
import { MeshCache } from '../xds-server/index.ts';
import { median } from './stats.ts';
import { SyntheticMesh } from './xds-synthetic-mesh.ts';

const N = Number(process.argv[2] ?? 10_000);
const E = Number(process.argv[3] ?? 10);
const ROUNDS = 15;

const base = new SyntheticMesh(N, E).inventory();
const spec = (inv: Inventory): MeshSpec => ({ clusterDomain: inv.clusterDomain, services: [...inv.services] });

const IDS = base.services.map((s) => s.id);

/** Service `i` with its first endpoint moved to a fresh address. */
function moved(inv: Inventory, i: number, gen: number): Service {
  const s = inv.service(IDS[i % N])!;
  return { ...s, workloads: s.workloads.map((w, k) => (k === 0 ? { ...w, address: `11.${(gen >> 16) & 255}.${(gen >> 8) & 255}.${gen & 255}` } : w)) };
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

type Row = { step: string; before: number; after: number };
const rows: Row[] = [];

// 1. The version: the old sha256 over JSON of the whole mesh vs the patched sum.
{
  const whole = spec(base);
  const before = median(Array.from({ length: 5 }, () => time(() => createHash('sha256').update(JSON.stringify(whole)).digest('hex'))))!;
  let inv = base;
  const after = median(Array.from({ length: ROUNDS }, (_, g) => {
    const s = moved(inv, g, g + 1);
    return time(() => void (inv = inv.apply({ services: [s] })));
  }))!;
  rows.push({ step: 'inventory: new version (old: sha256 of the whole mesh; new: Inventory.apply)', before, after });
}

// 2. Building the next Inventory whole (indexes + hashes) vs apply.
{
  let inv = base;
  const before = median(Array.from({ length: 5 }, (_, g) => {
    const next: MeshSpec = { ...spec(inv), services: inv.services.map((s, i) => (i === g ? moved(inv, g, g + 1) : s)) };
    return time(() => void new Inventory(next));
  }))!;
  const after = median(Array.from({ length: ROUNDS }, (_, g) => {
    const s = moved(inv, g, g + 1);
    return time(() => void (inv = inv.apply({ services: [s] })));
  }))!;
  rows.push({ step: 'inventory: whole rebuild vs apply(delta)', before, after });
}

// 3. The xDS cache following it (no proxies attached: the per-service work only).
{
  const full = new MeshCache({ inventory: base });
  let g = 1;
  const before = median(Array.from({ length: 5 }, () => {
    const inv = full.inventory;
    const at = g % N;
    const s = moved(inv, at, g++);
    const next = new Inventory({ ...spec(inv), services: inv.services.map((x, i) => (i === at ? s : x)) });
    return time(() => full.setInventory(next));
  }))!;
  const delta = new MeshCache({ inventory: base });
  const after = median(Array.from({ length: ROUNDS }, () => {
    const next = delta.inventory.apply({ services: [moved(delta.inventory, g, g++)] });
    return time(() => delta.setInventory(next));
  }))!;
  rows.push({ step: 'xds MeshCache.setInventory (whole version vs delta version)', before, after });
}

// 4. The analyzer following it: graph nodes and scopes (10 edges per 100 services).
{
  const records = Array.from({ length: N / 10 }, (_, i) => ({
    value: { time: new Date().toISOString(), source: `svc-${String(i * 10).padStart(5, '0')}.default`, authority: `svc-${String((i * 10 + 1) % N).padStart(5, '0')}.default`, protocol: 'http', code: 200 },
    ref: `bench:${i}`,
  }));
  const a = Analyzer.open({ inventory: base });
  a.ingest(records);
  let g = 1;
  const before = median(Array.from({ length: 5 }, () => {
    const inv = a.inventory;
    const at = g % N;
    const s = moved(inv, at, g++);
    const next = new Inventory({ ...spec(inv), services: inv.services.map((x, i) => (i === at ? s : x)) });
    return time(() => a.setInventory(next));
  }))!;
  const after = median(Array.from({ length: ROUNDS }, () => {
    const next = a.inventory.apply({ services: [moved(a.inventory, g, g++)] });
    return time(() => a.setInventory(next));
  }))!;
  await a.close();
  rows.push({ step: 'analyzer.setInventory (whole version vs delta version)', before, after });
}

const fmt = (ms: number) => (ms >= 10 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(3)).padStart(9);
process.stdout.write(`\ninventory delta bench: one endpoint change at ${N} services × ${E} endpoints (node ${process.version}; medians, ms)\n\n`);
process.stdout.write(`${'step'.padEnd(78)} ${'before'.padStart(9)} ${'after'.padStart(9)}\n`);
for (const r of rows) process.stdout.write(`${r.step.padEnd(78)} ${fmt(r.before)} ${fmt(r.after)}\n`);
const total = (k: 'before' | 'after') => rows.slice(1).reduce((s, r) => s + r[k], 0) + (k === 'before' ? rows[0].before : 0);
process.stdout.write(`${'end to end (version + inventory + xDS cache + analyzer)'.padEnd(78)} ${fmt(total('before'))} ${fmt(total('after'))}\n`);
