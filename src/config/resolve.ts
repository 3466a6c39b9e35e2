/**
 * Turns a schema-valid RawConfig into the resolved Config services read.
 * Assumes cross-checks passed: it parses without re-validating.
 */
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { parseCidr, parseIpv4, parseIpv4Range, type Cidr } from '../net/ipv4.js';
import { parseMac } from '../net/mac.js';
import { DEFAULT_BOOTLOADERS } from './defaults.js';
import { parseDurationS } from './duration.js';
import type { RawConfig } from './schema.js';
import type { Config, FirmwareKind, HostConfig, LoaderKind, ProfileConfig, SubnetConfig } from './types.js';

const ip = (text: string): number => parseIpv4(text)!;
const seconds = (value: string | number): number => parseDurationS(value)!;

export function resolveConfig(raw: RawConfig, file: string, bytes: Buffer | string, readTemplate: (path: string) => string | null): Config {
  const configDir = dirname(file);
  const fromConfigDir = (path: string): string => resolve(configDir, path);
  const serverAddress = ip(raw.server.address);

  const profiles = new Map<string, ProfileConfig>();
  for (const [name, profile] of Object.entries(raw.profiles)) {
    const kickstartFile = profile.kickstart === undefined ? null : fromConfigDir(profile.kickstart);
    profiles.set(name, {
      name,
      loader: profile.loader,
      kernel: profile.kernel ?? null,
      initrds: profile.initrd === undefined ? [] : Array.isArray(profile.initrd) ? profile.initrd : [profile.initrd],
      cmdline: profile.cmdline,
      kickstartFile,
      kickstartTemplate: kickstartFile === null ? null : readTemplate(kickstartFile),
      localboot: profile.localboot,
      vars: profile.vars,
      description: profile.description ?? null,
    });
  }

  const hosts: HostConfig[] = raw.hosts.map((host) => ({
    name: host.name,
    mac: parseMac(host.mac)!,
    ip: host.ip === undefined ? null : ip(host.ip),
    profile: host.profile ?? null,
    once: host.once,
    vars: host.vars,
    tftpBlksizeMax: host.tftpBlksizeMax ?? null,
  }));

  const bootloaders = {} as Record<LoaderKind, Partial<Record<FirmwareKind, string>>>;
  for (const loader of ['ipxe', 'pxelinux', 'grub'] as const) {
    bootloaders[loader] = { ...DEFAULT_BOOTLOADERS[loader], ...(raw.bootloaders[loader] ?? {}) };
  }

  const leaseFile = fromConfigDir(raw.dhcp.leaseFile);
  const httpBase = raw.http.baseUrl ?? `http://${raw.server.address}${raw.http.port === 80 ? '' : `:${raw.http.port}`}`;

  return {
    source: { file, sha256: createHash('sha256').update(bytes).digest('hex') },
    server: { address: serverAddress, addressText: raw.server.address, interface: raw.server.interface ?? null },
    dhcp: {
      mode: raw.dhcp.mode,
      listenAddress: raw.dhcp.listen,
      port: raw.dhcp.port,
      clientPort: raw.dhcp.clientPort,
      proxyPort: raw.dhcp.proxyPort,
      subnets: resolveSubnets(raw),
      leaseTimeS: seconds(raw.dhcp.leaseTime),
      offerHoldS: seconds(raw.dhcp.offerHold),
      declineHoldS: seconds(raw.dhcp.declineHold),
      leaseFile,
      bootUnknownNonPxe: raw.dhcp.bootUnknownNonPxe,
    },
    tftp: {
      enabled: raw.tftp.enabled,
      listenAddress: raw.tftp.listen,
      port: raw.tftp.port,
      root: fromConfigDir(raw.tftp.root),
      portRange: raw.tftp.portRange === undefined ? null : parsePortRange(raw.tftp.portRange),
      blksizeMax: raw.tftp.blksizeMax,
      windowsizeMax: raw.tftp.windowsizeMax,
      timeoutS: seconds(raw.tftp.timeout),
      retries: raw.tftp.retries,
      maxTransfers: raw.tftp.maxTransfers,
      maxTransfersPerClient: raw.tftp.maxTransfersPerClient,
      cacheBytes: raw.tftp.cacheBytes,
      stripLeadingSlash: raw.tftp.stripLeadingSlash,
      blksizeMaxByFirmware: raw.tftp.blksizeMaxByFirmware ?? {},
    },
    http: {
      enabled: raw.http.enabled,
      listenAddress: raw.http.listen,
      port: raw.http.port,
      baseUrl: httpBase.replace(/\/+$/, ''),
      trees: Object.fromEntries(Object.entries(raw.http.trees).map(([name, path]) => [name, fromConfigDir(path)])),
      apiToken: raw.http.apiToken ?? null,
      requestTimeoutS: seconds(raw.http.requestTimeout),
      keepAliveTimeoutS: seconds(raw.http.keepAliveTimeout),
    },
    bootloaders,
    profiles,
    hosts,
    hostsByMac: new Map(hosts.map((host) => [host.mac, host])),
    hostsByName: new Map(hosts.map((host) => [host.name, host])),
    defaultProfile: raw.defaultProfile ?? null,
    stateDir: raw.state.dir === undefined ? dirname(leaseFile) : fromConfigDir(raw.state.dir),
    logLevel: raw.log.level,
  };
}

export function parsePortRange(text: string): { first: number; last: number } {
  const [first, last] = text.split('-').map(Number);
  return { first: first!, last: last! };
}

function poolsOf(pool: string | string[] | undefined) {
  if (pool === undefined) return [];
  return (Array.isArray(pool) ? pool : [pool]).map((range) => parseIpv4Range(range)!);
}

/** The boot subnet first (where server.address lives), then relay subnets. */
function resolveSubnets(raw: RawConfig): SubnetConfig[] {
  const subnets: SubnetConfig[] = [];
  if (raw.dhcp.subnet !== undefined) {
    subnets.push({
      cidr: parseCidr(raw.dhcp.subnet) as Cidr,
      pools: poolsOf(raw.dhcp.pool),
      router: raw.dhcp.router === undefined ? null : ip(raw.dhcp.router),
      dns: (raw.dhcp.dns ?? []).map(ip),
      domain: raw.dhcp.domain ?? null,
    });
  }
  for (const relay of raw.dhcp.subnets ?? []) {
    subnets.push({
      cidr: parseCidr(relay.subnet)!,
      pools: poolsOf(relay.pool),
      router: relay.router === undefined ? null : ip(relay.router),
      dns: (relay.dns ?? raw.dhcp.dns ?? []).map(ip),
      domain: relay.domain ?? raw.dhcp.domain ?? null,
    });
  }
  return subnets;
}
