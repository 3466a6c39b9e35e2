/**
 * The resolved config every service reads: addresses parsed, durations in
 * seconds, MACs normalised, paths absolute, defaults filled in. Nothing in
 * here is a string that a service must still parse.
 */
import type { Cidr, Ipv4Range } from '../net/ipv4.js';

/** Firmware kinds a boot file is chosen for. */
export type FirmwareKind = 'bios' | 'uefi-x64' | 'uefi-ia32' | 'uefi-arm64';
export const FIRMWARE_KINDS: readonly FirmwareKind[] = ['bios', 'uefi-x64', 'uefi-ia32', 'uefi-arm64'];

export type LoaderKind = 'ipxe' | 'pxelinux' | 'grub';
export const LOADER_KINDS: readonly LoaderKind[] = ['ipxe', 'pxelinux', 'grub'];

export type DhcpMode = 'authoritative' | 'proxy' | 'off';

export interface SubnetConfig {
  cidr: Cidr;
  /** Ranges addresses are handed out from (reservations and server/router excluded at allocation). */
  pools: Ipv4Range[];
  router: number | null;
  dns: number[];
  domain: string | null;
}

export interface DhcpConfig {
  mode: DhcpMode;
  listenAddress: string;
  port: number;
  clientPort: number;
  proxyPort: number;
  /** The subnet of server.address, when it hands out addresses there; then relay subnets. */
  subnets: SubnetConfig[];
  leaseTimeS: number;
  offerHoldS: number;
  declineHoldS: number;
  /** Absolute path. */
  leaseFile: string;
  bootUnknownNonPxe: boolean;
}

export interface TftpConfig {
  enabled: boolean;
  listenAddress: string;
  port: number;
  /** Absolute path. */
  root: string;
  portRange: { first: number; last: number } | null;
  blksizeMax: number;
  windowsizeMax: number;
  timeoutS: number;
  retries: number;
  maxTransfers: number;
  maxTransfersPerClient: number;
  cacheBytes: number;
  stripLeadingSlash: boolean;
  blksizeMaxByFirmware: Partial<Record<FirmwareKind, number>>;
}

export interface HttpConfig {
  enabled: boolean;
  listenAddress: string;
  port: number;
  /** No trailing slash, e.g. `http://10.77.0.1:8080`. */
  baseUrl: string;
  /** name → absolute folder. */
  trees: Record<string, string>;
  apiToken: string | null;
  requestTimeoutS: number;
  keepAliveTimeoutS: number;
}

export type TemplateValue = string | number | boolean;

export interface ProfileConfig {
  name: string;
  loader: LoaderKind;
  kernel: string | null;
  initrds: string[];
  cmdline: string;
  /** Absolute path of the answer-file template. */
  kickstartFile: string | null;
  /** The template's text, read at load time so a boot never waits on disk or fails on a vanished file. */
  kickstartTemplate: string | null;
  localboot: boolean;
  vars: Record<string, TemplateValue>;
  description: string | null;
}

export interface HostConfig {
  name: string;
  /** Normalised `aa:bb:cc:dd:ee:ff`. */
  mac: string;
  /** Reserved address, or null to take one from the pool. */
  ip: number | null;
  /** Profile name (exists: checked at load). Null: the default profile. */
  profile: string | null;
  once: boolean;
  vars: Record<string, TemplateValue>;
  tftpBlksizeMax: number | null;
}

export interface Config {
  /** Absolute path of the file this came from, and a hash of its bytes (shown by the status API). */
  source: { file: string; sha256: string };
  server: { address: number; addressText: string; interface: string | null };
  dhcp: DhcpConfig;
  tftp: TftpConfig;
  http: HttpConfig;
  /** loader → firmware → file name relative to the TFTP root. */
  bootloaders: Record<LoaderKind, Partial<Record<FirmwareKind, string>>>;
  profiles: Map<string, ProfileConfig>;
  hosts: HostConfig[];
  hostsByMac: Map<string, HostConfig>;
  hostsByName: Map<string, HostConfig>;
  defaultProfile: string | null;
  stateDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}
