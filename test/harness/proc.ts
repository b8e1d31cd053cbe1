import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

// A test that fails before stop() must not leave an Envoy or a JVM running
// (CI ends the run only after every process it started is gone).
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const child of live) child.kill("SIGKILL");
  };
  process.once("exit", killAll);
  // "exit" does not fire when a signal ends the process (Ctrl-C, a runner's timeout).
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      killAll();
      // Re-raise for the default action unless someone else handles the signal.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `meshscope-${prefix}-`));
}

/** A long-running child whose stdout+stderr go to one log file. */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    readonly logFile: string,
    opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
  ) {
    installExitHook();
    const fd = fs.openSync(logFile, "a");
    try {
      this.child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", fd, fd] });
    } finally {
      fs.closeSync(fd); // the child holds its own copy
    }
    live.add(this.child);
    // A test that forgets stop() must still let its process end (the exit hook kills the child)
    // instead of hanging the whole run; stop() re-refs while it waits.
    this.child.unref();
    this.exited = new Promise((resolve) => {
      const settle = (code: number | null, signal: NodeJS.Signals | null) => {
        live.delete(this.child);
        this.exitInfo ??= { code, signal };
        resolve(this.exitInfo);
      };
      this.child.once("exit", settle);
      // spawn failures (ENOENT) emit "error" and may never emit "exit"
      this.child.once("error", (err) => {
        fs.appendFileSync(logFile, `\nspawn error: ${err.message}\n`);
        settle(null, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Why the process is no longer usable, or undefined while it runs. */
  deadReason(): string | undefined {
    if (!this.exitInfo) return undefined;
    const { code, signal } = this.exitInfo;
    return `${this.name} exited (code ${code}, signal ${signal})`;
  }

  logTail(n = 40): string {
    try {
      const lines = fs.readFileSync(this.logFile, "utf8").split("\n");
      if (lines.at(-1) === "") lines.pop();
      return lines.slice(-n).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** Wraps an error with the process' log tail so CI output says why. */
  failure(message: string, n = 40): Error {
    return new Error(
      `${message}\n--- ${this.name} log, last ${n} lines (MESHSCOPE_KEEP_TMP=1 keeps ${this.logFile}) ---\n${this.logTail(n)}`,
    );
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exitInfo) return;
    this.child.ref();
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
