import { EXIT_USAGE, wantsHelp, type Command } from './command.ts';
import { COMMANDS } from './registry.ts';

const VERSION = '0.1.0';

function overview(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'meshscope — push each mesh proxy only the configuration it really uses',
    '',
    'Usage: meshscope <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `meshscope <command> --help` for the options of one command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview(commands)}\n`);
    return name ? 0 : EXIT_USAGE;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`meshscope ${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`meshscope: unknown command "${name}"\n\n${overview(commands)}\n`);
    return EXIT_USAGE;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(`${command.usage.trimEnd()}\n`);
    return 0;
  }
  return command.run(rest);
}
