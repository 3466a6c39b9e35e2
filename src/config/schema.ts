/**
 * The shape of the config file, as zod schemas. This module checks each value
 * on its own (syntax, ranges, unknown keys); checks that relate several values
 * (pool inside subnet, duplicate MACs, unknown profiles, template variables,
 * missing files) live in cross-checks.ts, so each error can still point at
 * the one YAML node that is wrong.
 *
 * Every object is strict: an unknown key is a typo until proven otherwise, and
 * a typo in a boot config must never be silently ignored.
 */
import { z } from 'zod';
import { parseCidr, parseIpv4, parseIpv4Range } from '../net/ipv4.js';
import { parseMac } from '../net/mac.js';
import { parseDurationS } from './duration.js';

export const ipv4Address = z.string().refine((text) => parseIpv4(text) !== null, {
  error: (issue) => `invalid IPv4 address ${JSON.stringify(issue.input)}`,
});

export const cidr = z.string().refine((text) => parseCidr(text) !== null, {
  error: (issue) => `invalid subnet ${JSON.stringify(issue.input)} (expected network/prefix with host bits zero, e.g. 10.77.0.0/24)`,
});

export const ipv4Range = z.string().refine((text) => parseIpv4Range(text) !== null, {
  error: (issue) => `invalid address range ${JSON.stringify(issue.input)} (expected first-last, e.g. 10.77.0.100-10.77.0.199)`,
});

export const macAddress = z.string().refine((text) => parseMac(text) !== null, {
  error: (issue) => `invalid MAC address ${JSON.stringify(issue.input)}`,
});

export const duration = z.union([z.string(), z.number()]).refine((value) => parseDurationS(value) !== null, {
  error: (issue) => `invalid duration ${JSON.stringify(issue.input)} (expected e.g. 90s, 30m, 1h, 7d)`,
});

export const port = z.number().int().min(0).max(65535);

const portRange = z.string().refine(
  (text) => {
    const match = /^(\d+)-(\d+)$/.exec(text);
    if (!match) return false;
    const first = Number(match[1]);
    const last = Number(match[2]);
    return first >= 1024 && last <= 65535 && first <= last;
  },
  { error: (issue) => `invalid port range ${JSON.stringify(issue.input)} (expected first-last within 1024-65535)` },
);

/** A name that is safe in URLs, file names and log lines. */
const identifier = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, {
  error: 'names use letters, digits, ".", "_" and "-", start with a letter or digit, at most 63 characters',
});

/** Free-form per-host and per-profile template variables. */
const templateVars = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are identifiers'), z.union([z.string(), z.number(), z.boolean()]));

/** What a firmware kind is handed for each loader; every key optional (defaults in defaults.ts). */
const loaderFiles = z.strictObject({
  bios: z.string().min(1).optional(),
  'uefi-x64': z.string().min(1).optional(),
  'uefi-ia32': z.string().min(1).optional(),
  'uefi-arm64': z.string().min(1).optional(),
});

export const serverSchema = z.strictObject({
  /** This box's address on the boot network: next-server, DHCP server identifier, host of httpBase. */
  address: ipv4Address,
  /** The boot interface (documentation and `netboot firewall`; DHCP binds by address or systemd socket). */
  interface: z.string().min(1).optional(),
});

const relaySubnetSchema = z.strictObject({
  subnet: cidr,
  pool: z.union([ipv4Range, z.array(ipv4Range).min(1)]),
  router: ipv4Address.optional(),
  dns: z.array(ipv4Address).optional(),
  domain: z.string().min(1).optional(),
});

export const dhcpSchema = z.strictObject({
  mode: z.enum(['authoritative', 'proxy', 'off']).default('off'),
  /** Address to bind; 0.0.0.0 receives broadcasts (the usual case). */
  listen: ipv4Address.default('0.0.0.0'),
  port: port.default(67),
  /** The client port replies go to; 68 in real life, changed only by tests. */
  clientPort: port.default(68),
  /** PXE boot-server port for proxy mode's follow-up request (PXE spec 2.1). */
  proxyPort: port.default(4011),
  subnet: cidr.optional(),
  pool: z.union([ipv4Range, z.array(ipv4Range).min(1)]).optional(),
  router: ipv4Address.optional(),
  dns: z.array(ipv4Address).optional(),
  domain: z.string().min(1).optional(),
  leaseTime: duration.default('1h'),
  /** How long an OFFERed address is held for the client that was offered it. */
  offerHold: duration.default('30s'),
  /** How long a DECLINEd address stays out of the pool. */
  declineHold: duration.default('10m'),
  leaseFile: z.string().min(1).default('state/leases.json'),
  /** Further subnets reached through DHCP relays (giaddr picks one). */
  subnets: z.array(relaySubnetSchema).optional(),
  /** Hand boot files to clients that are neither PXE firmware nor known hosts. */
  bootUnknownNonPxe: z.boolean().default(false),
});

export const tftpSchema = z.strictObject({
  enabled: z.boolean().default(true),
  listen: ipv4Address.default('0.0.0.0'),
  port: port.default(69),
  root: z.string().min(1).default('tftpboot'),
  /** Transfer ports (TIDs) come from this range instead of the kernel's ephemeral ports, for firewalls. */
  portRange: portRange.optional(),
  /** RFC 2348: the largest blksize granted; 1468 keeps a block in one 1500-byte Ethernet frame. */
  blksizeMax: z.number().int().min(8).max(65464).default(1468),
  /** RFC 7440: the largest windowsize granted. */
  windowsizeMax: z.number().int().min(1).max(65535).default(64),
  /** First retransmission timeout (doubled per retry) unless the client negotiates `timeout`. */
  timeout: duration.default(1),
  retries: z.number().int().min(1).max(20).default(5),
  maxTransfers: z.number().int().min(1).default(500),
  maxTransfersPerClient: z.number().int().min(1).default(8),
  /** Byte budget of the in-memory cache of hot boot files. */
  cacheBytes: z.number().int().min(0).default(256 * 1024 * 1024),
  stripLeadingSlash: z.boolean().default(true),
  /** Per-firmware blksize caps, for clients that break with large blocks. */
  blksizeMaxByFirmware: z
    .strictObject({ bios: z.number().int().min(8).optional(), 'uefi-x64': z.number().int().min(8).optional(), 'uefi-ia32': z.number().int().min(8).optional(), 'uefi-arm64': z.number().int().min(8).optional() })
    .optional(),
});

export const httpSchema = z.strictObject({
  enabled: z.boolean().default(true),
  listen: ipv4Address.default('0.0.0.0'),
  port: port.default(80),
  /** Base URL clients use to reach this server; defaults to http://<server.address>:<port>. */
  baseUrl: z.string().url().optional(),
  /** Installer trees served at /trees/<name>/... */
  trees: z.record(identifier, z.string().min(1)).default({}),
  /** Bearer token for mutating API calls; without it the API is read-only. */
  apiToken: z.string().min(16, 'apiToken must be at least 16 characters').optional(),
  requestTimeout: duration.default('30s'),
  keepAliveTimeout: duration.default('5s'),
});

export const bootloadersSchema = z.strictObject({
  pxelinux: loaderFiles.optional(),
  ipxe: loaderFiles.optional(),
  grub: loaderFiles.optional(),
});

export const profileSchema = z.strictObject({
  /** What the firmware is handed: iPXE (then a script over HTTP), pxelinux or GRUB (a generated config over TFTP). */
  loader: z.enum(['ipxe', 'pxelinux', 'grub']).default('ipxe'),
  /** Path relative to the TFTP root, or an http(s) URL (iPXE only). */
  kernel: z.string().min(1).optional(),
  initrd: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  /** Kernel command line; a mustache template. */
  cmdline: z.string().default(''),
  /** Answer file template (kickstart, preseed, autoinstall), relative to the config file's folder. */
  kickstart: z.string().min(1).optional(),
  /** Boot from the local disk instead of the network. */
  localboot: z.boolean().default(false),
  vars: templateVars.default({}),
  description: z.string().optional(),
});

export const hostSchema = z.strictObject({
  name: identifier,
  mac: macAddress,
  ip: ipv4Address.optional(),
  profile: identifier.optional(),
  /** Install on the next network boot only; after the installer's callback, boot locally until re-armed. */
  once: z.boolean().default(false),
  vars: templateVars.default({}),
  /** Cap TFTP blksize for this host's firmware. */
  tftpBlksizeMax: z.number().int().min(8).optional(),
});

export const stateSchema = z.strictObject({
  /** Folder for boot-once state; defaults to the lease file's folder. */
  dir: z.string().min(1).optional(),
});

export const logSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export const configSchema = z.strictObject({
  server: serverSchema,
  dhcp: dhcpSchema.prefault({}),
  tftp: tftpSchema.prefault({}),
  http: httpSchema.prefault({}),
  bootloaders: bootloadersSchema.default({}),
  profiles: z.record(identifier, profileSchema).default({}),
  hosts: z.array(hostSchema).default([]),
  /** Profile for machines not listed under hosts; omit to ignore unknown machines. */
  defaultProfile: identifier.optional(),
  state: stateSchema.prefault({}),
  log: logSchema.prefault({}),
});

/** The config as zod parsed it, before paths and addresses are resolved. */
export type RawConfig = z.infer<typeof configSchema>;
