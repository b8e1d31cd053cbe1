// The node's pod network without a kubelet or CNI: one Linux bridge per
// harness instance, one network namespace per pod joined to it by a veth
// pair. Pod addresses exist only in those namespaces and on the bridge; the
// pods get a route to the service CIDR (so a connect() to a clusterIP reaches
// the sidecar's iptables capture) and nothing else, and nothing routes pod
// addresses anywhere else.
//
// Each instance takes a free slot N (1..200): bridge msN, namespaces msN-POD,
// subnet 10.252.N.0/24 with the node at .1. The slot is claimed by a
// directory under /run/meshscope-pods holding the owner pid; a slot whose
// owner died (a crashed run) is torn down before it is reused.
import fs from 'node:fs';
import path from 'node:path';
import { pidAlive, run } from '../install.ts';

const STATE = '/run/meshscope-pods';
const SLOTS = 200;

async function sh(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): Promise<string> {
  const r = await run(cmd, args, { allowFail: opts.allowFail, timeoutMs: 60_000 });
  return r.stdout;
}

/** Kills every process inside a namespace (a deleted namespace would keep them alive), then removes it and its hosts file. */
async function removeNetns(name: string): Promise<void> {
  const pids = (await sh('ip', ['netns', 'pids', name], { allowFail: true })).split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await sh('ip', ['netns', 'del', name], { allowFail: true });
  fs.rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
}

/** Removes the namespaces of slot `n` with their processes, its bridge and its claim. */
async function teardownSlot(n: number): Promise<void> {
  const prefix = `ms${n}-`;
  const names = (await sh('ip', ['netns', 'list'], { allowFail: true }))
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((name) => name.startsWith(prefix));
  for (const name of names) await removeNetns(name);
  await sh('ip', ['link', 'del', `ms${n}`], { allowFail: true });
  fs.rmSync(path.join(STATE, String(n)), { recursive: true, force: true });
}

export class PodNetwork {
  private nextHost = 2;

  private constructor(
    readonly slot: number,
    /** Node side of the bridge: what pods reach istiod, the gateway and the analyzer on. */
    readonly nodeIp: string,
    readonly serviceCidr: string,
  ) {}

  get bridge(): string {
    return `ms${this.slot}`;
  }

  get subnet(): string {
    return `10.252.${this.slot}.0/24`;
  }

  /** Claims a slot (cleaning up stale ones) and brings the bridge up. */
  static async create(serviceCidr: string): Promise<PodNetwork> {
    fs.mkdirSync(STATE, { recursive: true });
    for (const entry of fs.readdirSync(STATE)) {
      const n = Number(entry);
      if (!Number.isInteger(n)) continue;
      let owner = 0;
      try {
        owner = Number(fs.readFileSync(path.join(STATE, entry, 'owner'), 'utf8'));
      } catch {
        // no owner file: a claim that never finished
      }
      if (!owner || !pidAlive(owner)) await teardownSlot(n);
    }
    for (let n = 1; n <= SLOTS; n++) {
      try {
        fs.mkdirSync(path.join(STATE, String(n)));
      } catch {
        continue;
      }
      fs.writeFileSync(path.join(STATE, String(n), 'owner'), String(process.pid));
      const net = new PodNetwork(n, `10.252.${n}.1`, serviceCidr);
      // A bridge left by a run whose state dir was wiped (reboot keeps neither).
      await sh('ip', ['link', 'del', net.bridge], { allowFail: true });
      await sh('ip', ['link', 'add', net.bridge, 'type', 'bridge']);
      await sh('ip', ['addr', 'add', `${net.nodeIp}/24`, 'dev', net.bridge]);
      await sh('ip', ['link', 'set', net.bridge, 'up']);
      return net;
    }
    throw new Error(`no free pod network slot under ${STATE} (${SLOTS} in use); remove stale ones with 'ip netns list'`);
  }

  /** Creates namespace msN-NAME with an address of the subnet; returns its name and IP. */
  async addNamespace(podName: string, hosts: string): Promise<{ netns: string; ip: string }> {
    if (this.nextHost > 254) throw new Error(`pod network ${this.subnet} is full`);
    const host = this.nextHost++;
    const ip = `10.252.${this.slot}.${host}`;
    // Interface names are at most 15 bytes; the pod name lives only in the namespace name.
    const netns = `ms${this.slot}-${podName}`.slice(0, 60);
    const veth = `ms${this.slot}v${host}`;
    await sh('ip', ['netns', 'del', netns], { allowFail: true });
    await sh('ip', ['netns', 'add', netns]);
    await sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await sh('ip', ['link', 'set', veth, 'master', this.bridge, 'up']);
    await sh('ip', ['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await sh('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    await sh('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    // ClusterIPs only exist as iptables captures: the route just has to exist for connect() to start.
    await sh('ip', ['-n', netns, 'route', 'add', this.serviceCidr, 'via', this.nodeIp]);
    // `ip netns exec` bind-mounts this file over /etc/hosts for every process it starts.
    fs.mkdirSync(`/etc/netns/${netns}`, { recursive: true });
    fs.writeFileSync(`/etc/netns/${netns}/hosts`, hosts);
    return { netns, ip };
  }

  /**
   * Rewrites a namespace's hosts file in place: the bind mount of running
   * processes follows the inode, so a rename would go unseen.
   */
  setHosts(netns: string, hosts: string): void {
    const fd = fs.openSync(`/etc/netns/${netns}/hosts`, 'r+');
    try {
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, hosts, 0);
    } finally {
      fs.closeSync(fd);
    }
  }

  async removeNamespace(netns: string): Promise<void> {
    await removeNetns(netns);
  }

  async stop(): Promise<void> {
    await teardownSlot(this.slot);
  }
}
