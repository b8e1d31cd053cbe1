// A fresh clone of this commit in a temporary folder, as a new user gets it:
// no shared/ folder beside it, nothing untracked. node_modules is linked to this
// checkout's (what `npm ci` would install) to save the install's minutes.
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./install.ts";

export const ROOT = new URL("../../", import.meta.url).pathname;

export interface Clone {
  dir: string;
  remove(): void;
}

export async function freshClone(prefix: string): Promise<Clone> {
  const tmp = mkdtempSync(join(tmpdir(), `meshscope-${prefix}-`));
  const dir = join(tmp, "meshscope");
  const head = (await run("git", ["-C", ROOT, "rev-parse", "HEAD"])).stdout.trim();
  await run("git", ["clone", "--quiet", "--no-checkout", ROOT, dir]);
  await run("git", ["-C", dir, "checkout", "--quiet", "--detach", head]);
  if (existsSync(join(tmp, "shared"))) throw new Error(`${tmp}/shared exists: the clone must stand alone`);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return { dir, remove: () => rmSync(tmp, { recursive: true, force: true }) };
}

/** Every descendant of `pid`, from /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Running (not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Processes whose working directory is inside `dir` (what a command run there left behind). */
export function processesIn(dir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSafe(`/proc/${entry}/cwd`)?.startsWith(dir) && alive(Number(entry))) out.push(Number(entry));
    } catch {}
  }
  return out;
}

function readlinkSafe(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}
