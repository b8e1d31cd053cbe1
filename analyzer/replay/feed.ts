// How recorded lines reach the analyzer. In-process by default; other
// strategies (e.g. `--via kafka`: produce to a topic, let the Kafka source
// consume) plug in here and must resolve once every line has been ingested.
import { DEFAULT_MAX_LINE, type Analyzer, type RawInput } from '../index.ts';
import { FixtureError } from './errors.ts';

export interface TrafficLine {
  /** 1-based line number in traffic.jsonl. */
  line: number;
  text: string;
  /** Set when the line was over the size limit; `text` then holds only its start. */
  tooLong?: number;
}

export interface FeedContext {
  analyzer: Analyzer;
  /** traffic.jsonl as the user named it, for refs `FILE:LINE`. */
  file: string;
  /** `--kafka HOST:PORT` and the like, for strategies that need them. */
  options: Record<string, string | undefined>;
}

/** Feeds every line, in file order, and resolves once the analyzer has ingested them all. */
export type FeedStrategy = (batches: AsyncIterable<TrafficLine[]>, ctx: FeedContext) => Promise<void>;

export const inProcessFeed: FeedStrategy = async (batches, { analyzer, file }) => {
  for await (const batch of batches) analyzer.ingest(batch.map((l) => toInput(l, file)));
};

/** The raw input for one line; the same mapping serves any transport. */
export function toInput(l: TrafficLine, file: string): RawInput {
  const ref = `${file}:${l.line}`;
  if (l.tooLong === undefined) return { value: l.text, ref };
  return { value: l.text, ref, rejectReason: 'too-large', rejectDetail: `line of ${l.tooLong} bytes is over the ${DEFAULT_MAX_LINE}-byte limit; only its start is kept` };
}

/**
 * Strategies other than in-process live with their transport in
 * analyzer/sources/ and are loaded only when asked for: the module must export
 * `replayFeed: FeedStrategy`.
 */
const FEEDS: Record<string, string> = {
  kafka: '../sources/kafka-replay.ts',
};

export async function feedFor(via: string): Promise<FeedStrategy> {
  if (via === 'in-process') return inProcessFeed;
  const path = FEEDS[via];
  if (!path) throw new FixtureError(`--via ${via}: unknown; choose one of in-process, ${Object.keys(FEEDS).join(', ')}`);
  let mod: { replayFeed?: FeedStrategy };
  try {
    mod = (await import(new URL(path, import.meta.url).href)) as { replayFeed?: FeedStrategy };
  } catch (err) {
    throw new FixtureError(`--via ${via}: this build has no ${via} replay feed (${path}: ${(err as Error).message}); use the default in-process feed`);
  }
  if (typeof mod.replayFeed !== 'function') throw new FixtureError(`--via ${via}: ${path} does not export replayFeed`);
  return mod.replayFeed;
}
