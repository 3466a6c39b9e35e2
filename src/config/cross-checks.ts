/**
 * Checks that relate several values of a schema-valid config. Each returns
 * issues pointing at the node to fix; all are run, so the user sees every
 * problem at once.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { cidrContains, formatIpv4, parseCidr, parseIpv4, parseIpv4Range, type Cidr } from '../net/ipv4.js';
import { parseMac } from '../net/mac.js';
import { checkTemplateName, templateNames } from '../policy/template.js';
import type { RawConfig } from './schema.js';

export interface PathIssue {
  severity: 'error' | 'warning';
  path: (string | number)[];
  message: string;
  /** Point at the key rather than the value. */
  atKey?: boolean;
}

export interface CrossCheckOptions {
  /** Folder relative paths are resolved against (the config file's). */
  configDir: string;
  /** Files a profile or the TFTP root names that do not exist: warnings for `check`, errors for `serve`. */
  missingFiles: 'error' | 'warning';
  /** Reads a template file; null when it cannot be read. */
  readTemplate(path: string): string | null;
}

export function crossCheck(raw: RawConfig, options: CrossCheckOptions): PathIssue[] {
  return [...checkDhcp(raw), ...checkHosts(raw), ...checkProfiles(raw, options), ...checkFiles(raw, options), ...checkExposure(raw)];
}

const ipOf = (text: string): number => parseIpv4(text)!;

function checkDhcp(raw: RawConfig): PathIssue[] {
  const issues: PathIssue[] = [];
  const { dhcp } = raw;
  const server = ipOf(raw.server.address);
  if (dhcp.mode === 'authoritative' && dhcp.subnet === undefined && (dhcp.subnets ?? []).length === 0) {
    issues.push({ severity: 'error', path: ['dhcp', 'mode'], message: 'authoritative mode needs dhcp.subnet and dhcp.pool (or dhcp.subnets for relayed networks)' });
  }
  if (dhcp.subnet !== undefined) {
    const subnet = parseCidr(dhcp.subnet)!;
    if (!cidrContains(subnet, server)) {
      issues.push({ severity: 'error', path: ['dhcp', 'subnet'], message: `server.address ${raw.server.address} is not inside ${dhcp.subnet}; list relayed networks under dhcp.subnets instead` });
    }
    if (dhcp.mode === 'authoritative' && dhcp.pool === undefined) {
      issues.push({ severity: 'warning', path: ['dhcp', 'subnet'], message: 'no dhcp.pool: only hosts with a reserved ip get an address' });
    }
    issues.push(...checkPools(dhcp.pool, subnet, ['dhcp', 'pool'], server));
    if (dhcp.router !== undefined && !cidrContains(subnet, ipOf(dhcp.router))) {
      issues.push({ severity: 'error', path: ['dhcp', 'router'], message: `router ${dhcp.router} is not inside ${dhcp.subnet}` });
    }
  } else if (dhcp.pool !== undefined) {
    issues.push({ severity: 'error', path: ['dhcp', 'pool'], message: 'dhcp.pool needs dhcp.subnet' });
  }
  (dhcp.subnets ?? []).forEach((relay, index) => {
    const subnet = parseCidr(relay.subnet)!;
    issues.push(...checkPools(relay.pool, subnet, ['dhcp', 'subnets', index, 'pool'], server));
    if (relay.router !== undefined && !cidrContains(subnet, ipOf(relay.router))) {
      issues.push({ severity: 'error', path: ['dhcp', 'subnets', index, 'router'], message: `router ${relay.router} is not inside ${relay.subnet}` });
    }
  });
  return issues;
}

function checkPools(pool: string | string[] | undefined, subnet: Cidr, path: (string | number)[], server: number): PathIssue[] {
  if (pool === undefined) return [];
  const ranges = Array.isArray(pool) ? pool : [pool];
  const issues: PathIssue[] = [];
  ranges.forEach((text, index) => {
    const range = parseIpv4Range(text)!;
    const where = Array.isArray(pool) ? [...path, index] : path;
    if (!cidrContains(subnet, range.first) || !cidrContains(subnet, range.last)) {
      issues.push({ severity: 'error', path: where, message: `pool ${text} is not inside subnet ${formatIpv4(subnet.network)}/${subnet.prefixLength}` });
    } else if (range.first <= subnet.network || range.last >= subnet.broadcast) {
      issues.push({ severity: 'error', path: where, message: `pool ${text} includes the network or broadcast address of the subnet` });
    } else if (range.first <= server && server <= range.last) {
      issues.push({ severity: 'warning', path: where, message: `pool ${text} contains server.address ${formatIpv4(server)}; it is never handed out` });
    }
  });
  return issues;
}

function allSubnets(raw: RawConfig): Cidr[] {
  const subnets = raw.dhcp.subnet === undefined ? [] : [parseCidr(raw.dhcp.subnet)!];
  for (const relay of raw.dhcp.subnets ?? []) subnets.push(parseCidr(relay.subnet)!);
  return subnets;
}

function checkHosts(raw: RawConfig): PathIssue[] {
  const issues: PathIssue[] = [];
  const subnets = allSubnets(raw);
  const server = ipOf(raw.server.address);
  const seen = { name: new Map<string, number>(), mac: new Map<string, number>(), ip: new Map<number, number>() };
  const duplicate = (kind: keyof typeof seen, key: never, index: number, shown: string) => {
    const first = (seen[kind] as Map<unknown, number>).get(key);
    if (first !== undefined) {
      issues.push({ severity: 'error', path: ['hosts', index, kind], message: `duplicate ${kind} ${shown} (also hosts[${first}].${kind})` });
    } else {
      (seen[kind] as Map<unknown, number>).set(key, index);
    }
  };
  raw.hosts.forEach((host, index) => {
    duplicate('name', host.name as never, index, JSON.stringify(host.name));
    duplicate('mac', parseMac(host.mac)! as never, index, host.mac);
    if (host.ip !== undefined) {
      const address = ipOf(host.ip);
      duplicate('ip', address as never, index, host.ip);
      if (address === server) {
        issues.push({ severity: 'error', path: ['hosts', index, 'ip'], message: `${host.ip} is server.address` });
      } else if (raw.dhcp.mode === 'authoritative' && !subnets.some((subnet) => cidrContains(subnet, address))) {
        issues.push({ severity: 'error', path: ['hosts', index, 'ip'], message: `${host.ip} is not inside any DHCP subnet (${subnets.map((s) => `${formatIpv4(s.network)}/${s.prefixLength}`).join(', ') || 'none'})` });
      }
    }
    if (host.profile !== undefined && !(host.profile in raw.profiles)) {
      issues.push({ severity: 'error', path: ['hosts', index, 'profile'], message: `unknown profile "${host.profile}" (defined: ${Object.keys(raw.profiles).join(', ') || 'none'})` });
    }
    if (host.once && host.profile === undefined && raw.defaultProfile === undefined) {
      issues.push({ severity: 'warning', path: ['hosts', index, 'once'], message: 'once: true on a host with no profile does nothing' });
    }
  });
  if (raw.defaultProfile !== undefined && !(raw.defaultProfile in raw.profiles)) {
    issues.push({ severity: 'error', path: ['defaultProfile'], message: `unknown profile "${raw.defaultProfile}" (defined: ${Object.keys(raw.profiles).join(', ') || 'none'})` });
  }
  return issues;
}

/** `vars.*` names a profile's templates may use: its own, plus those every host on it defines. */
function varNamesFor(raw: RawConfig, profileName: string): Set<string> {
  const names = new Set(Object.keys(raw.profiles[profileName]?.vars ?? {}));
  const users = raw.hosts.filter((host) => (host.profile ?? raw.defaultProfile) === profileName);
  if (raw.defaultProfile === profileName || users.length === 0) return names;
  const [first, ...rest] = users;
  for (const name of Object.keys(first!.vars)) {
    if (rest.every((host) => name in host.vars)) names.add(name);
  }
  return names;
}

function checkProfiles(raw: RawConfig, options: CrossCheckOptions): PathIssue[] {
  const issues: PathIssue[] = [];
  const trees = new Set(Object.keys(raw.http.trees));
  for (const [name, profile] of Object.entries(raw.profiles)) {
    const varNames = varNamesFor(raw, name);
    const checkTemplate = (template: string, path: (string | number)[], what: string) => {
      let names: string[];
      try {
        names = templateNames(template);
      } catch (error) {
        issues.push({ severity: 'error', path, message: `${what}: template syntax error: ${(error as Error).message}` });
        return;
      }
      for (const variable of names) {
        const problem = checkTemplateName(variable, varNames, trees);
        if (problem !== null) issues.push({ severity: 'error', path, message: what === 'cmdline' ? problem : `${what}: ${problem}` });
      }
    };
    checkTemplate(profile.cmdline, ['profiles', name, 'cmdline'], 'cmdline');
    if (profile.kickstart !== undefined) {
      const file = resolve(options.configDir, profile.kickstart);
      const text = options.readTemplate(file);
      if (text === null) {
        issues.push({ severity: options.missingFiles, path: ['profiles', name, 'kickstart'], message: `template file ${file} does not exist or cannot be read` });
      } else {
        checkTemplate(text, ['profiles', name, 'kickstart'], `in ${file}`);
      }
    }
    if (!profile.localboot && profile.kernel === undefined) {
      issues.push({ severity: 'error', path: ['profiles', name], message: 'a profile needs a kernel, or localboot: true' });
    }
    if (profile.loader !== 'ipxe') {
      for (const [key, value] of [['kernel', profile.kernel], ['initrd', profile.initrd]] as const) {
        const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
        if (values.some((text) => /^https?:\/\//.test(text))) {
          issues.push({ severity: 'error', path: ['profiles', name, key], message: `${profile.loader} fetches by TFTP: use a path in the TFTP root, or loader: ipxe for URLs` });
        }
      }
    }
  }
  return issues;
}

function checkFiles(raw: RawConfig, options: CrossCheckOptions): PathIssue[] {
  const issues: PathIssue[] = [];
  const root = resolve(options.configDir, raw.tftp.root);
  const rootExists = existsSync(root) && statSync(root).isDirectory();
  if (raw.tftp.enabled && !rootExists) {
    issues.push({ severity: options.missingFiles, path: ['tftp', 'root'], message: `TFTP root ${root} is not a folder (run \`netboot init --dir ${root}\` to create it with the boot loaders)` });
  }
  if (rootExists) {
    for (const [name, profile] of Object.entries(raw.profiles)) {
      const files: [string, string | number][] = [];
      if (profile.kernel !== undefined) files.push([profile.kernel, 'kernel']);
      const initrds = profile.initrd === undefined ? [] : Array.isArray(profile.initrd) ? profile.initrd : [profile.initrd];
      initrds.forEach((initrd, index) => files.push([initrd, Array.isArray(profile.initrd) ? index : 'initrd']));
      for (const [file, key] of files) {
        if (/^https?:\/\//.test(file)) continue;
        if (isAbsolute(file) || file.split('/').includes('..')) {
          issues.push({ severity: 'error', path: ['profiles', name, typeof key === 'number' ? 'initrd' : key, ...(typeof key === 'number' ? [key] : [])], message: `${file}: paths are relative to the TFTP root and stay inside it` });
        } else if (!existsSync(resolve(root, file))) {
          issues.push({ severity: options.missingFiles, path: ['profiles', name, typeof key === 'number' ? 'initrd' : key, ...(typeof key === 'number' ? [key] : [])], message: `${file} does not exist in the TFTP root ${root}` });
        }
      }
    }
  }
  for (const [name, folder] of Object.entries(raw.http.trees)) {
    const path = resolve(options.configDir, folder);
    if (!existsSync(path)) issues.push({ severity: options.missingFiles, path: ['http', 'trees', name], message: `tree folder ${path} does not exist` });
  }
  return issues;
}

function checkExposure(raw: RawConfig): PathIssue[] {
  const issues: PathIssue[] = [];
  if (raw.http.enabled && raw.http.apiToken === undefined && !raw.http.listen.startsWith('127.')) {
    issues.push({ severity: 'warning', path: ['http', 'listen'], message: `the API listens on ${raw.http.listen} without http.apiToken: anyone on the network can read hosts, leases and events (mutations stay disabled)` });
  }
  if (raw.tftp.portRange !== undefined) {
    const [first, last] = raw.tftp.portRange.split('-').map(Number);
    const size = last! - first! + 1;
    if (size < raw.tftp.maxTransfers) {
      issues.push({ severity: 'warning', path: ['tftp', 'portRange'], message: `${size} ports allow at most ${size} transfers at once, fewer than tftp.maxTransfers (${raw.tftp.maxTransfers})` });
    }
  }
  return issues;
}
