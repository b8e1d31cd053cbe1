// Benchmark: `meshscope replay --summary` of a synthetic 10k-service,
// 35k-record fixture (fixtures/generate.ts --synthetic, into a temp folder),
// timed as a user runs it: wall clock, and the CPU it used (user + sys, which
// a busy shared machine does not inflate), with the load average beside it.
//
//   node --import tsx bench/replay-scale.ts [--services 10000] [--records 35000] [--rounds 1]
//
// Target (printed with the figures): ≤ 15 s on 2 cores.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSynthetic } from '../fixtures/generate.ts';
import { median } from './stats.ts';

const { values } = parseArgs({ options: { services: { type: 'string', default: '10000' }, records: { type: 'string', default: '35000' }, rounds: { type: 'string', default: '1' } } });
const SERVICES = Number(values.services);
const RECORDS = Number(values.records);
const TARGET_S = 15;
const ROOT = new URL('..', import.meta.url).pathname;
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

const tmp = mkdtempSync(join(tmpdir(), 'meshscope-bench-replay-'));
try {
  const dir = join(tmp, `synthetic-${SERVICES}`);
  mkdirSync(dir);
  log(`generating ${SERVICES} services, ${RECORDS} records into ${dir}`);
  for (const [name, text] of Object.entries(generateSynthetic(SERVICES, RECORDS))) writeFileSync(join(dir, name), text);
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    const load = loadavg()[0];
    // bash's `time` reports the CPU of the whole command (node's own rusage does not reach a child).
    const r = spawnSync('bash', ['-c', `TIMEFORMAT='%R %U %S'; time node bin/meshscope.mjs replay "${dir}" --summary >"${tmp}/summary.txt" 2>"${tmp}/progress.txt"`], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`replay failed (${r.status}): ${r.stderr}`);
    const [wall, user, sys] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    walls.push(wall);
    cpus.push(user + sys);
    log(`round ${round + 1}: ${wall.toFixed(1)} s wall, ${(user + sys).toFixed(1)} s CPU (load average ${load.toFixed(1)} on entry)`);
  }
  const summary = spawnSync('cat', [join(tmp, 'summary.txt')], { encoding: 'utf8' }).stdout;
  process.stdout.write(summary);
  const wall = median(walls)!;
  const cpu = median(cpus)!;
  process.stdout.write(`replay --summary of ${SERVICES} services / ${RECORDS} records: ${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU (median of ${walls.length}); load average ${loadavg()[0].toFixed(1)}\n`);
  process.stdout.write(`target: ≤ ${TARGET_S} s: ${wall <= TARGET_S ? 'met' : cpu <= TARGET_S ? 'met in CPU time, not in wall time on this (busy) machine' : 'NOT met'}\n`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
