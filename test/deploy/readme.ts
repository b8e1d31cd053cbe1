// The "Install next to Istio" section of README.md, read as the install test
// runs it: its sh blocks in order (except the ones marked as not run, with
// the reason), and its YAML snippets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './chart.ts';

export const SECTION = 'Install next to Istio';
const NOT_RUN = /<!--\s*not run by the test:\s*(.+?)\s*-->/;

export interface Block {
  lang: string;
  code: string;
  /** Why the test does not run it (from the marker comment before it). */
  notRun?: string;
}

export function installSection(readme = readFileSync(join(ROOT, 'README.md'), 'utf8')): Block[] {
  const start = readme.indexOf(`\n## ${SECTION}\n`);
  if (start === -1) throw new Error(`README.md has no "## ${SECTION}" section`);
  const rest = readme.slice(start + 1);
  const end = rest.indexOf('\n## ', 4);
  const text = end === -1 ? rest : rest.slice(0, end);
  const blocks: Block[] = [];
  const fence = /(?:(<!--[^\n]*-->)\n)?```(\w+)\n([\s\S]*?)\n```/g;
  for (let m; (m = fence.exec(text)); ) {
    const marker = m[1] ? NOT_RUN.exec(m[1])?.[1] : undefined;
    blocks.push({ lang: m[2], code: m[3], ...(marker ? { notRun: marker } : {}) });
  }
  return blocks;
}
