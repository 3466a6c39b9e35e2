/**
 * Network namespaces for tests that run real DHCP servers and clients. Every
 * namespace is made by the test, has no route out, and is deleted after.
 * Names carry the test's pid so parallel test files never collide.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export { hasProgram, netnsUnavailableReason } from '../../src/tools/lab/bridge-lab.js';

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { stdio: 'pipe', encoding: 'utf8' });
}

/** Runs a command inside a namespace and returns its stdout; throws with stderr on failure. */
export function nsExec(namespace: string, command: string, args: string[], options: { timeoutMs?: number; input?: string } = {}): string {
  return execFileSync('ip', ['netns', 'exec', namespace, command, ...args], {
    stdio: 'pipe',
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 30_000,
    input: options.input,
  });
}

/** Starts a long-running process inside a namespace. The caller ends it by PID (see stopProcess). */
export function nsSpawn(namespace: string, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', namespace, command, ...args], { stdio: 'pipe', ...options });
}

/** SIGTERM, then SIGKILL after a grace period; only for processes the test started (by PID). */
export { stopChild as stopProcess } from '../../src/tools/lab/bridge-lab.js';

export interface VethLab {
  /** Namespace of the server side. */
  server: string;
  /** Namespace of the client side. */
  client: string;
  serverIf: string;
  clientIf: string;
  destroy(): void;
}

/**
 * Two namespaces joined by one veth pair, the server end addressed
 * `serverCidr` (e.g. 10.71.0.1/24), the client end unaddressed (a DHCP client
 * configures it) unless `clientCidr` is given. No other link, no route out.
 */
export function createVethLab(tag: string, serverCidr: string, clientCidr?: string): VethLab {
  const server = `nbt-${tag}-s-${process.pid}`;
  const client = `nbt-${tag}-c-${process.pid}`;
  const lab: VethLab = {
    server,
    client,
    serverIf: 'nbs0',
    clientIf: 'nbc0',
    destroy: () => {
      for (const namespace of [server, client]) {
        try { ip('netns', 'del', namespace); } catch { /* already gone */ }
      }
    },
  };
  try {
    ip('netns', 'add', server);
    ip('netns', 'add', client);
    for (const namespace of [server, client]) {
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
      nsExec(namespace, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
    }
    ip('-n', server, 'link', 'add', lab.serverIf, 'type', 'veth', 'peer', 'name', lab.clientIf, 'netns', client);
    ip('-n', server, 'addr', 'add', serverCidr, 'dev', lab.serverIf);
    ip('-n', server, 'link', 'set', lab.serverIf, 'up');
    if (clientCidr) ip('-n', client, 'addr', 'add', clientCidr, 'dev', lab.clientIf);
    ip('-n', client, 'link', 'set', lab.clientIf, 'up');
  } catch (error) {
    lab.destroy();
    throw error;
  }
  return lab;
}

export interface BridgeLab {
  /** Namespace holding the bridge (nothing else runs there). */
  hub: string;
  /** Member name → its namespace; each has one interface `nbm0` on the bridge. */
  members: Record<string, string>;
  memberIf: string;
  destroy(): void;
}

/**
 * Several namespaces on one Ethernet segment: a hub namespace with a bridge,
 * and one veth per member (addressed `cidr`, or unaddressed for DHCP
 * clients). For tests where two servers share a network (proxyDHCP beside
 * dnsmasq). No route out of any of them.
 */
export function createBridgeLab(tag: string, members: { name: string; cidr?: string }[]): BridgeLab {
  const hub = `nbt-${tag}-hub-${process.pid}`;
  const lab: BridgeLab = {
    hub,
    members: {},
    memberIf: 'nbm0',
    destroy: () => {
      for (const namespace of [hub, ...Object.values(lab.members)]) {
        try { ip('netns', 'del', namespace); } catch { /* already gone */ }
      }
    },
  };
  try {
    ip('netns', 'add', hub);
    ip('-n', hub, 'link', 'set', 'lo', 'up');
    ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    ip('-n', hub, 'link', 'set', 'br0', 'up');
    members.forEach((member, index) => {
      const namespace = `nbt-${tag}-${member.name}-${process.pid}`;
      lab.members[member.name] = namespace;
      ip('netns', 'add', namespace);
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
      nsExec(namespace, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
      const hubSide = `nbh${index}`;
      ip('-n', hub, 'link', 'add', hubSide, 'type', 'veth', 'peer', 'name', lab.memberIf, 'netns', namespace);
      ip('-n', hub, 'link', 'set', hubSide, 'master', 'br0', 'up');
      if (member.cidr) ip('-n', namespace, 'addr', 'add', member.cidr, 'dev', lab.memberIf);
      ip('-n', namespace, 'link', 'set', lab.memberIf, 'up');
    });
  } catch (error) {
    lab.destroy();
    throw error;
  }
  return lab;
}
