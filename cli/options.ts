// Option checks every command shares, so a bad flag reads the same everywhere:
// the flag, the value given, and what would be accepted.

/** A usage or input error: the command prints it and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A port flag: 0-65535, 0 meaning any free port (tests and side-by-side runs use it). */
export function portOption(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`${flag} ${JSON.stringify(value)}: expected a port number 0-65535 (0 = any free port)`);
  return n;
}

/** A whole-number flag from 0 to `max`. */
export function wholeNumberOption(value: string | undefined, flag: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > max) throw new UsageError(`${flag} ${JSON.stringify(value)}: expected a whole number from 0 to ${max}`);
  return n;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `--log-level`: one of pino's levels. */
export function logLevelOption(value: string | undefined, fallback: string): string {
  const level = value ?? fallback;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level ${JSON.stringify(level)}: expected one of ${LOG_LEVELS.join(', ')}`);
  return level;
}
