import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

/** Parses `HOST:PORT` (`[v6]:PORT` for IPv6); the error names `what` (e.g. the flag) and the expected form. */
export function parseHostPort(value: string, what: string): HostPort {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:\s]+):(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535 || (value.startsWith('[') && isIP(m[1]) !== 6)) {
    throw new Error(`${what} ${JSON.stringify(value)}: expected HOST:PORT, e.g. 127.0.0.1:15008`);
  }
  return { host: m[1], port };
}
