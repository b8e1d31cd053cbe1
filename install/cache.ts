// Tools meshscope fetches on first use (Envoy for the demo and the tests,
// Kafka for the tests) live under one cache folder; installs are serialised
// across processes by a lock and report progress on stderr.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export function cacheDir(): string {
  return process.env.MESHSCOPE_CACHE ?? path.join(os.homedir(), ".cache", "meshscope");
}

export function progress(msg: string): void {
  process.stderr.write(`[meshscope] ${msg}\n`);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Runs `fn` while holding `${target}.lock`. mkdir is atomic, so it serialises
 * installers across the separate processes node:test spawns per test file.
 * A lock whose owner pid is gone (crashed run) is taken over.
 */
export async function withLock<T>(target: string, fn: () => Promise<T>, timeoutMs = 20 * 60_000): Promise<T> {
  const lock = `${target}.lock`;
  const ownerFile = path.join(lock, "owner");
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(ownerFile, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let stale = false;
    try {
      const pid = Number(fs.readFileSync(ownerFile, "utf8"));
      stale = pid > 0 && !pidAlive(pid);
    } catch {
      // The owner may be between mkdir and writeFile; only a long-ownerless lock is stale.
      try {
        stale = Date.now() - fs.statSync(lock).mtimeMs > 30_000;
      } catch {
        continue; // released meanwhile
      }
    }
    if (stale) {
      progress(`removing stale lock ${lock}`);
      fs.rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${lock}`);
    if (!announced) {
      progress(`waiting for another process installing into ${target}`);
      announced = true;
    }
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; allowFail?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = opts.timeoutMs
      ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs)
      : undefined;
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${err.message}`));
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      if (code !== 0 && !opts.allowFail) {
        const tail = (stdout + stderr).split("\n").slice(-40).join("\n");
        reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}\n${tail}`));
      } else {
        resolve({ code, stdout, stderr });
      }
    });
  });
}
