// Runs `meshscope replay` in a child process, as a user or CI would.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const ROOT = new URL('../../', import.meta.url).pathname;

// Through the real `meshscope` binary once the dispatcher lists replay; until then the same command object directly.
const viaBin = /^\s*'?replay'?\s*:/m.test(readFileSync(new URL('cli/registry.ts', `file://${ROOT}`), 'utf8'));
const ENTRY = viaBin
  ? [`${ROOT}bin/meshscope.mjs`, 'replay']
  : ['--import', 'tsx', '--input-type=module', '-e', "import { command } from './analyzer/replay/cli.ts'; process.exitCode = await command.run(process.argv.slice(1));", '--'];

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function replayCli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...ENTRY, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
