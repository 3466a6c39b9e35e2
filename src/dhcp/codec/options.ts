/**
 * The option table: one entry per option netboot understands, naming its code
 * and the kind of its payload. Reading (`readOption`) and writing
 * (`writeOption`) both go through it, so the two directions cannot disagree.
 * Options not in the table stay raw bytes on the packet.
 */
import {
  bytesKind, clientIdKind, domainListKind, ipKind, ipListKind, machineIdKind, networkInterfaceKind, stringKind,
  u16Kind, u16ListKind, u32Kind, u8Kind, u8ListKind, userClassKind, type OptionKind,
} from './option-kinds.js';
import { messageTypeName } from './constants.js';
import { buildPxeVendorOptions, readPxeVendorOptions, showPxeVendorOptions, type PxeVendorOptions } from './pxe-vendor.js';
import { readRelayAgentInformation, showRelayAgentInformation, type RelayAgentInformation } from './relay-agent.js';

export interface OptionSpec<T> {
  code: number;
  name: string;
  kind: OptionKind<T>;
}

function spec<T>(code: number, name: string, kind: OptionKind<T>): OptionSpec<T> {
  return { code, name, kind };
}

const messageTypeKind: OptionKind<number> = { ...u8Kind, name: 'message-type', show: (value) => `${value} (${messageTypeName(value)})` };

const pxeVendorKind: OptionKind<PxeVendorOptions> = {
  name: 'pxe-vendor',
  read: readPxeVendorOptions,
  write: () => buildPxeVendorOptions(),
  show: showPxeVendorOptions,
};

const relayAgentKind: OptionKind<RelayAgentInformation> = {
  name: 'relay-agent',
  read: readRelayAgentInformation,
  // Never built by the server: echoed raw (RFC 3046 §2.2), see reply.ts.
  write: (value) => Buffer.concat(value.raw.map(([code, data]) => Buffer.concat([Buffer.from([code, data.length]), data]))),
  show: showRelayAgentInformation,
};

/** Every option with a typed reading, by the name code refers to it. */
export const Option = {
  subnetMask: spec(1, 'subnet-mask', ipKind),
  router: spec(3, 'router', ipListKind),
  domainServer: spec(6, 'domain-server', ipListKind),
  hostName: spec(12, 'host-name', stringKind),
  domainName: spec(15, 'domain-name', stringKind),
  broadcastAddress: spec(28, 'broadcast-address', ipKind),
  vendorSpecific: spec(43, 'vendor-specific', pxeVendorKind),
  requestedAddress: spec(50, 'requested-address', ipKind),
  leaseTime: spec(51, 'lease-time', u32Kind),
  messageType: spec(53, 'message-type', messageTypeKind),
  serverIdentifier: spec(54, 'server-identifier', ipKind),
  parameterRequestList: spec(55, 'parameter-request-list', u8ListKind),
  message: spec(56, 'message', stringKind),
  maxMessageSize: spec(57, 'max-message-size', u16Kind),
  renewalTime: spec(58, 'renewal-time', u32Kind),
  rebindingTime: spec(59, 'rebinding-time', u32Kind),
  vendorClass: spec(60, 'vendor-class', stringKind),
  clientIdentifier: spec(61, 'client-identifier', clientIdKind),
  tftpServerName: spec(66, 'tftp-server-name', stringKind),
  bootfileName: spec(67, 'bootfile-name', stringKind),
  userClass: spec(77, 'user-class', userClassKind),
  relayAgentInformation: spec(82, 'relay-agent-information', relayAgentKind),
  clientArchitecture: spec(93, 'client-architecture', u16ListKind),
  clientNetworkInterface: spec(94, 'client-network-interface', networkInterfaceKind),
  clientMachineId: spec(97, 'client-machine-id', machineIdKind),
  domainSearch: spec(119, 'domain-search', domainListKind),
  ipxeEncapsulated: spec(175, 'ipxe-encapsulated', bytesKind),
} as const;

export const OPTION_TABLE: ReadonlyMap<number, OptionSpec<unknown>> = new Map(
  Object.values(Option).map((entry) => [entry.code, entry as OptionSpec<unknown>]),
);

/** The typed value of an option; null when absent or when its bytes do not fit its kind. */
export function readOption<T>(options: ReadonlyMap<number, Buffer>, option: OptionSpec<T>): T | null {
  const data = options.get(option.code);
  if (data === undefined) return null;
  return option.kind.read(data);
}

export function writeOption<T>(options: Map<number, Buffer>, option: OptionSpec<T>, value: T): void {
  options.set(option.code, option.kind.write(value));
}

export function optionName(code: number): string {
  return OPTION_TABLE.get(code)?.name ?? `option-${code}`;
}

/** `60 vendor-class: "PXEClient:Arch:00000:UNDI:002001"`: one line per option for logs and golden files. */
export function describeOption(code: number, data: Buffer): string {
  const entry = OPTION_TABLE.get(code);
  if (entry === undefined) return `${code} ${optionName(code)}: 0x${data.toString('hex')}`;
  const value = entry.kind.read(data);
  const shown = value === null ? `malformed 0x${data.toString('hex')}` : entry.kind.show(value);
  return `${code} ${entry.name}: ${shown}`;
}
