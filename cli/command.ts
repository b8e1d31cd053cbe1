/** What every `meshscope` subcommand exports; the dispatcher needs nothing else. */
export interface Command {
  name: string;
  summary: string;
  /** The full `--help` text. */
  usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Exit code for usage and input errors, as the fixture contract sets for replay. */
export const EXIT_USAGE = 2;

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
