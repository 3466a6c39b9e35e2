/**
 * An isolated boot network for real firmware: one network namespace holding a
 * bridge with the server's address and one tap per QEMU machine. Nothing
 * links it to any other namespace, so no DHCP packet can leave it.
 *
 * Used by the e2e tests, `npm run demo` and bench/boot.mjs. Needs root.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface BridgeLab {
  /** The namespace everything runs in (server and QEMU). */
  namespace: string;
  bridge: string;
  /** 10.77.N.1: the boot server's address on the bridge. */
  serverAddress: string;
  /** 10.77.N.0/24. */
  subnet: string;
  /** 10.77.N: for pools and reservations. */
  prefix: string;
  /** Adds a tap on the bridge for one QEMU machine and returns its name. */
  addTap(name: string): string;
  /** Runs a command in the namespace and returns its stdout. */
  exec(command: string, args: string[], options?: { timeoutMs?: number }): string;
  /** Starts a long-running process in the namespace; stop it by PID (stopChild). */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Deletes the namespace (and with it the bridge and taps). Idempotent. */
  destroy(): void;
}

/** Why network namespaces cannot be made here (root, iproute2, kernel support), or null when they can. */
export function netnsUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces); CI runs as root';
  if (!['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].some((path) => existsSync(path))) return 'needs iproute2 (`ip`)';
  const probe = `nbl-probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
    return null;
  } catch (error) {
    return `cannot create network namespaces: ${(error as Error).message.split('\n')[0]}`;
  }
}

/** Why a bridge lab cannot be built here, or null when it can. */
export function labUnavailableReason(): string | null {
  const netns = netnsUnavailableReason();
  if (netns !== null) return netns;
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun for tap devices';
  return null;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { stdio: 'pipe', encoding: 'utf8' });
}

/**
 * Builds namespace `nbl-<tag>-<pid>` with bridge `nbbr0` at 10.77.<subnetIndex>.1/24.
 * Each concurrent lab needs its own tag; a distinct subnetIndex keeps logs
 * and leases readable when several run at once.
 */
export function createBridgeLab(tag: string, subnetIndex: number): BridgeLab {
  if (!Number.isInteger(subnetIndex) || subnetIndex < 0 || subnetIndex > 255) throw new RangeError(`subnetIndex ${subnetIndex} is not 0-255`);
  const namespace = `nbl-${tag}-${process.pid}`;
  const prefix = `10.77.${subnetIndex}`;
  const bridge = 'nbbr0';
  const exec = (command: string, args: string[], options: { timeoutMs?: number } = {}): string =>
    execFileSync('ip', ['netns', 'exec', namespace, command, ...args], { stdio: 'pipe', encoding: 'utf8', timeout: options.timeoutMs ?? 30_000 });
  let destroyed = false;
  const lab: BridgeLab = {
    namespace,
    bridge,
    serverAddress: `${prefix}.1`,
    subnet: `${prefix}.0/24`,
    prefix,
    addTap(name) {
      exec('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap']);
      ip('-n', namespace, 'link', 'set', name, 'master', bridge, 'up');
      return name;
    },
    exec,
    spawn(command, args, options = {}) {
      return spawn('ip', ['netns', 'exec', namespace, command, ...args], { stdio: 'pipe', ...options });
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      try { ip('netns', 'del', namespace); } catch { /* already gone */ }
    },
  };
  try {
    ip('netns', 'add', namespace);
    ip('-n', namespace, 'link', 'set', 'lo', 'up');
    // OVMF tries IPv6 PXE after IPv4 when it sees router advertisements; and
    // nothing here should speak IPv6 anyway.
    exec('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
    exec('sysctl', ['-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
    // STP off and forward delay 0: a port would otherwise sit in "listening"
    // for 15 s and the firmware's first DISCOVERs would be lost.
    ip('-n', namespace, 'link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    ip('-n', namespace, 'addr', 'add', `${lab.serverAddress}/24`, 'dev', bridge);
    ip('-n', namespace, 'link', 'set', bridge, 'up');
  } catch (error) {
    lab.destroy();
    throw error;
  }
  return lab;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. Only for processes we started. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Whether a program is on PATH. */
export function hasProgram(name: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Deletes lab namespaces (`nbl-<tag>-<pid>`) left behind by a run that was
 * killed before its cleanup ran: those whose pid no longer exists. Only this
 * module makes `nbl-` namespaces, and a live run's namespaces are never touched.
 */
export function removeStaleLabs(): string[] {
  let listing: string;
  try {
    listing = ip('netns', 'list');
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of listing.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = /^nbl-[a-z0-9]+-(\d+)$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    try {
      ip('netns', 'del', name);
      removed.push(name);
    } catch { /* raced with another cleanup */ }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
