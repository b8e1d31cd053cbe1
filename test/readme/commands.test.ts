// The README walks: every command in its ```sh blocks runs as written, in a
// fresh clone of this commit, one after the other in one bash with job
// control (as in a terminal), and does what the README says it does. The
// few commands not run here, and why:
const NOT_RUN: Record<string, string> = {
  'npm ci': "the clone's node_modules is linked to this checkout's, which npm ci made",
  'npm start': 'test/demo/npm-start.test.ts runs it from a fresh clone',
  'npm test': 'it is the suite this test is part of',
  'npm link': "it would change the machine's global npm folder",
};
// "Install next to Istio" needs a cluster: test/deploy/install-readme.test.ts runs that section
// against a real kube-apiserver, so this test reads the README up to it.
const CLUSTER_SECTION = '\n## Install next to Istio\n';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureEnvoy } from '../harness/envoy.ts';
import { ROOT, freshClone, processesIn, type Clone } from '../harness/clone.ts';
import { waitUntil } from '../harness/wait.ts';

/** The ```sh blocks of a Markdown text, in order. */
export function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

describe('README.md commands', () => {
  let clone: Clone;
  const full = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const readme = full.includes(CLUSTER_SECTION) ? full.slice(0, full.indexOf(CLUSTER_SECTION)) : full;
  const blocks = shellBlocks(readme);

  before(async () => {
    await ensureEnvoy(); // the one-off install is not what is timed here
    clone = await freshClone('readme');
  });
  after(() => clone?.remove());

  it('has the quick start as two commands, and only the listed ones are not run', () => {
    assert.deepEqual(blocks[0].trim().split('\n'), ['npm ci', 'npm start']);
    const skipped = blocks.flatMap((b) => b.split('\n')).filter((l) => l.trim() in NOT_RUN);
    assert.deepEqual(skipped.sort(), Object.keys(NOT_RUN).sort());
  });

  it('runs every other command as written, and each does what the README says', async () => {
    const script = blocks.map((b) => b.split('\n').filter((l) => !(l.trim() in NOT_RUN)).join('\n')).join('\n');
    writeFileSync(join(clone.dir, '.readme.sh'), `set -m -e -o pipefail\n${script}\n`);
    const child = spawn('bash', ['.readme.sh'], { cwd: clone.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
      child.once('exit', (c) => (clearTimeout(timer), resolve(c)));
    });
    const shown = `--- stdout ---\n${out.slice(-4000)}\n--- stderr ---\n${err.slice(-4000)}`;
    assert.equal(code, 0, shown);
    // Replay printed its table and the check held; Envoy is on PATH; the loop went gateway → direct.
    assert.match(out, /productpage-v1-fp2z2hr8dt-5zsht\.default/, shown);
    assert.match(out, /envoy\s+version: [0-9a-f]+\/1\.40\.0\//, shown);
    assert.match(out, /^first call: 200$/m, shown);
    assert.match(out, /^direct: 200$/m, shown);
    assert.match(out, /^cluster\.outbound\|9080\|\|details\.default\.svc\.cluster\.local\.upstream_rq_total: 1$/m, shown);
    const service = JSON.parse(out.split('\n').find((l) => l.startsWith('{"id":"productpage.default"'))!);
    assert.deepEqual(service.scope, ['details.default']);
    // `kill %1 %2 %3` ended the server, the analyzer and Envoy: nothing runs in the clone any more.
    await waitUntil(() => processesIn(clone.dir).length === 0, 'every process the README started to end', 15_000);
  });
});
