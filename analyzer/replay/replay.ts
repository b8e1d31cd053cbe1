// `meshscope replay` without the command line: recorded traffic through the
// real parse → resolve → graph → scopes → xDS-resource path, on recorded time.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import type { ProxyBytes, ServiceId } from '../../contracts/index.ts';
import { ProxyBytesMeter } from '../../xds-server/index.ts';
import { Analyzer, DEFAULT_MAX_LINE, VirtualClock, type RejectedView, type UnresolvedView } from '../index.ts';
import { ndjsonBatches } from '../sources/ndjson.ts';
import { checkScopes, type Check } from './check.ts';
import { FixtureError } from './errors.ts';
import { inProcessFeed, type FeedStrategy, type TrafficLine } from './feed.ts';
import { loadFixture, type Fixture } from './fixture.ts';
import { Progress } from './progress.ts';
import { firstRecordTime } from './start.ts';

/** The report of fixture-format.md, key for key. */
export interface ReplayReport {
  fixture: string;
  records: number;
  rejected: number;
  unresolved: number;
  services: number;
  edges: number;
  scopes: Record<ServiceId, ServiceId[]>;
  proxies: ProxyBytes[];
  check?: Check;
}

export interface ReplayOptions {
  dependencyTtlMs?: number;
  feed?: FeedStrategy;
  feedOptions?: Record<string, string | undefined>;
  /** Keep the analyzer's SQLite store in this new file (default: in memory). */
  db?: string;
  progress?: (line: string) => void;
}

/** What the readable table shows beyond the report. */
export interface ReplayResult {
  report: ReplayReport;
  fixture: Fixture;
  rejected: RejectedView[];
  unresolved: UnresolvedView[];
  duplicates: number;
}

export async function replay(dir: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  const fixture = loadFixture(dir);
  const file = relative(process.cwd(), fixture.trafficFile) || fixture.trafficFile;
  const start = await firstRecordTime(readTraffic(fixture.trafficFile, file));
  // Time is the records' own: TTL expiry replays as it happened, whenever replay runs.
  const analyzer = openAnalyzer(fixture, new VirtualClock(start ?? 0), opts);
  try {
    const progress = new Progress(file, opts.progress);
    await (opts.feed ?? inProcessFeed)(counted(ndjsonBatches(readTraffic(fixture.trafficFile, file), { maxLineBytes: DEFAULT_MAX_LINE }), progress), {
      analyzer,
      file,
      options: opts.feedOptions ?? {},
    });
    await analyzer.flush();
    return { report: report(fixture, analyzer), fixture, rejected: analyzer.rejected(), unresolved: analyzer.unresolved(), duplicates: analyzer.stats().duplicates };
  } finally {
    await analyzer.close();
  }
}

function openAnalyzer(fixture: Fixture, clock: VirtualClock, opts: ReplayOptions): Analyzer {
  const { db } = opts;
  // A store that already holds state would add its counts, edges and pins to
  // this fixture's, and the report would no longer describe the fixture.
  if (db !== undefined && db !== ':memory:' && existsSync(db) && statSync(db).size > 0) {
    throw new FixtureError(`--db ${db}: already exists; replay writes a fresh store, so name a new file or remove this one`);
  }
  try {
    return Analyzer.open({ inventory: fixture.inventory, db, clock, dependencyTtlMs: opts.dependencyTtlMs });
  } catch (err) {
    if (db === undefined) throw err;
    throw new FixtureError(`--db: ${(err as Error).message}`);
  }
}

async function* readTraffic(path: string, shown: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of createReadStream(path)) yield chunk as Buffer;
  } catch (err) {
    throw new FixtureError(`${shown}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); a fixture records its traffic there, one access-log record a line`);
  }
}

async function* counted(batches: AsyncIterable<TrafficLine[]>, progress: Progress): AsyncGenerator<TrafficLine[]> {
  for await (const b of batches) {
    yield b;
    progress.add(b.length);
  }
}

function report(fixture: Fixture, analyzer: Analyzer): ReplayReport {
  const inv = fixture.inventory;
  const stats = analyzer.stats();
  const scopes = analyzer.scopes();
  const meter = new ProxyBytesMeter(inv);
  const proxies: ProxyBytes[] = [];
  for (const w of inv.workloads()) proxies.push(meter.measure(w.id, scopes.get(w.service) ?? []));
  const out: ReplayReport = {
    fixture: fixture.name,
    records: stats.records,
    rejected: stats.rejected,
    unresolved: stats.unresolved,
    services: inv.services.length,
    edges: stats.edges,
    // Code-unit order, as the lists inside are sorted: the same bytes under any locale.
    scopes: Object.fromEntries([...scopes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([s, deps]) => [s, [...deps]])),
    proxies,
  };
  if (fixture.expected) out.check = checkScopes(fixture.expected, scopes);
  return out;
}
