#!/usr/bin/env node
// The package runs its TypeScript sources directly through tsx: one artifact,
// no build step that could drift from what the tests ran.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`meshscope: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
