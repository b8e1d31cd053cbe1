// The pod network harness: namespaces joined to a per-instance bridge, the
// hosts file a pod sees, and the cleanup of what a crashed run left behind.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { PodNetwork } from '../harness/k8s/pod-network.ts';
import { waitUntil } from '../harness/wait.ts';

const netnsList = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const linkExists = (name: string) => {
  try {
    execFileSync('ip', ['link', 'show', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('pod network harness', () => {
  it('puts a pod in its own namespace on the bridge, with its hosts file and a route to the service CIDR only', async () => {
    const net = await PodNetwork.create('10.96.0.0/16');
    try {
      const { netns, ip } = await net.addNamespace('selftest-a', `127.0.0.1 localhost\n${'10.252.0.9'} istiod.istio-system.svc\n`);
      assert.match(ip, new RegExp(`^10\\.252\\.${net.slot}\\.`));
      const resolved = execFileSync('ip', ['netns', 'exec', netns, 'getent', 'hosts', 'istiod.istio-system.svc'], { encoding: 'utf8' });
      assert.match(resolved, /^10\.252\.0\.9\s/);
      const routes = execFileSync('ip', ['-n', netns, 'route'], { encoding: 'utf8' });
      assert.match(routes, /^10\.96\.0\.0\/16 via /m);
      assert.doesNotMatch(routes, /^default/m, 'a pod must not route anywhere but its subnet and the service CIDR');
      net.setHosts(netns, '127.0.0.1 localhost\n10.96.0.7 details.default.svc.cluster.local\n');
      assert.match(execFileSync('ip', ['netns', 'exec', netns, 'getent', 'hosts', 'details.default.svc.cluster.local'], { encoding: 'utf8' }), /^10\.96\.0\.7\s/);
    } finally {
      await net.stop();
    }
    assert.ok(!linkExists(net.bridge), 'bridge removed on stop');
    assert.ok(!netnsList().includes(`ms${net.slot}-`), 'namespaces removed on stop');
  });

  it("tears down a crashed run's slot (dead owner): its processes, namespaces, bridge and hosts files", async () => {
    const crashed = await PodNetwork.create('10.96.0.0/16');
    const { netns } = await crashed.addNamespace('selftest-b', '127.0.0.1 localhost\n');
    const sleeper = spawn('ip', ['netns', 'exec', netns, 'sleep', '300'], { stdio: 'ignore', detached: true });
    sleeper.unref();
    await waitUntil(() => execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).trim() !== '', 'a process inside the namespace');
    // The claim now names a pid that is gone, as after a SIGKILLed test run.
    fs.writeFileSync(`/run/meshscope-pods/${crashed.slot}/owner`, '999999');
    const next = await PodNetwork.create('10.96.0.0/16');
    try {
      assert.ok(!netnsList().includes(netns), 'stale namespace removed');
      assert.ok(!fs.existsSync(`/etc/netns/${netns}`), 'stale hosts file removed');
      assert.ok(next.slot === crashed.slot || !linkExists(crashed.bridge), 'stale bridge removed or reused');
      let alive = true;
      try {
        process.kill(sleeper.pid!, 0);
      } catch {
        alive = false;
      }
      assert.equal(alive, false, 'the process inside the stale namespace was killed');
    } finally {
      await next.stop();
    }
  });
});
