#!/usr/bin/env node
// The package runs its TypeScript sources directly through tsx: one artifact,
// no build step that could drift from what the tests ran.
import { register } from 'tsx/esm/api';

// An unexpected failure must not look like replay's "check failed" (1) or a
// usage error (2): 70 is sysexits' EX_SOFTWARE.
const EXIT_INTERNAL = 70;

register();
const { main } = await import('../cli/main.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`meshscope: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = EXIT_INTERNAL;
}
