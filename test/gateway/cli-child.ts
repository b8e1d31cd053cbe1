// Runs `meshscope gateway` in a child process, as bin/meshscope would.
import { command } from '../../lazy-gateway/cli.ts';

process.exitCode = await command.run(process.argv.slice(2));
