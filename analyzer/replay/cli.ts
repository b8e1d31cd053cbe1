// `meshscope replay DIR`: runs a fixture's recorded traffic through the real
// pipeline and reports each proxy's scope and config size (fixture-format.md).
import { parseArgs } from 'node:util';
import { formatDuration, parseDuration, DEFAULT_TTL_MS } from '../index.ts';
import { FixtureError } from './errors.ts';
import { feedFor } from './feed.ts';
import { replay } from './replay.ts';
import { emitSidecars } from './sidecars.ts';
import { formatSummary, formatTable } from './table.ts';

const usage = `Usage: meshscope replay DIR [options]

Replays a fixture (DIR/mesh.yaml, DIR/traffic.jsonl, optional DIR/expected.yaml)
through the real parse → resolve → graph → scopes → xDS path, on the records'
own time, and reports what each proxy would be pushed.

Options:
  --json                  print the report as one JSON object (fixture-format.md)
  --summary               print a few lines instead of the full table (large meshes)
  --dependency-ttl D      forget a dependency unseen for D (default ${formatDuration(DEFAULT_TTL_MS)}; e.g. 12h, 30m)
  --emit sidecars OUT     also write the Istio Sidecar each source service's scope implies into OUT/
  --via in-process|kafka  how records reach the analyzer (default in-process)
  --kafka HOST:PORT       the broker for --via kafka
  --db FILE               keep the analyzer's SQLite store in FILE, which must be new
                          (default: in memory)

Exit status: 0 when the check holds (or there is no expected.yaml), 1 when the
scopes differ from expected.yaml, 2 for a fixture or usage error.

Examples:
  meshscope replay fixtures/bookinfo
  meshscope replay fixtures/online-boutique --json
  meshscope replay my-mesh --emit sidecars out/sidecars
`;

export const command = {
  name: 'replay',
  summary: 'replay recorded access logs of a fixture and check the scopes they imply',
  usage,
  run,
};

async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  try {
    const args = parse(argv);
    const feed = await feedFor(args.via);
    const result = await replay(args.dir, { dependencyTtlMs: args.ttl, feed, feedOptions: { kafka: args.kafka }, db: args.db });
    if (args.emit) {
      const { written, skipped } = writeSidecars(result.fixture.inventory, result.report.scopes, args.emit);
      process.stderr.write(`replay: wrote ${written.length} Sidecar resources to ${args.emit}\n`);
      for (const s of skipped) process.stderr.write(`replay: no Sidecar for ${s.service}: ${s.why}\n`);
    }
    process.stdout.write(args.json ? `${JSON.stringify(result.report, null, 2)}\n` : args.summary ? formatSummary(result) : formatTable(result));
    return result.report.check && !result.report.check.ok ? 1 : 0;
  } catch (err) {
    if (err instanceof FixtureError) {
      process.stderr.write(`meshscope replay: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

function writeSidecars(...args: Parameters<typeof emitSidecars>): ReturnType<typeof emitSidecars> {
  try {
    return emitSidecars(...args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new FixtureError(`--emit sidecars ${args[2]}: cannot write (${e.code ?? e.message}${e.path ? ` at ${e.path}` : ''}); give a writable folder`);
  }
}

interface Args {
  dir: string;
  json: boolean;
  summary: boolean;
  ttl?: number;
  via: string;
  kafka?: string;
  emit?: string;
  db?: string;
}

function parse(argv: string[]): Args {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      tokens: true,
      options: {
        json: { type: 'boolean' },
        summary: { type: 'boolean' },
        'dependency-ttl': { type: 'string' },
        emit: { type: 'string' },
        via: { type: 'string', default: 'in-process' },
        kafka: { type: 'string' },
        db: { type: 'string' },
      },
    });
  } catch (err) {
    throw new FixtureError(`${(err as Error).message}; see meshscope replay --help`);
  }
  const { values, tokens } = parsed;
  // `--emit sidecars OUT`: OUT is the positional right after the option.
  let emit: string | undefined;
  let emitIndex = -1;
  const emitToken = tokens.find((t) => t.kind === 'option' && t.name === 'emit');
  if (emitToken && emitToken.kind === 'option') {
    if (values.emit !== 'sidecars') throw new FixtureError(`--emit ${values.emit}: the only kind is "sidecars" (--emit sidecars OUT)`);
    emitIndex = emitToken.index + (emitToken.inlineValue ? 1 : 2);
    const out = tokens.find((t) => t.kind === 'positional' && t.index === emitIndex);
    if (!out || out.kind !== 'positional') throw new FixtureError('--emit sidecars: give the output folder, e.g. --emit sidecars out/sidecars');
    emit = out.value;
  }
  const dirs = tokens.flatMap((t) => (t.kind === 'positional' && t.index !== emitIndex ? [t.value] : []));
  if (dirs.length !== 1) throw new FixtureError(`expected one fixture folder, got ${dirs.length === 0 ? 'none' : dirs.join(' ')}; usage: meshscope replay DIR [--json]`);
  if (values.via === 'kafka' && !values.kafka) throw new FixtureError('--via kafka needs --kafka HOST:PORT of the broker');
  let ttl: number | undefined;
  if (values['dependency-ttl'] !== undefined) {
    try {
      ttl = parseDuration(values['dependency-ttl'], '--dependency-ttl');
    } catch (err) {
      throw new FixtureError((err as Error).message);
    }
  }
  if (values.json && values.summary) throw new FixtureError('--json and --summary: choose one (the JSON report, or a few lines)');
  return { dir: dirs[0], json: values.json ?? false, summary: values.summary ?? false, ttl, via: values.via ?? 'in-process', kafka: values.kafka, emit, db: values.db };
}
