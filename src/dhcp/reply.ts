/**
 * Builds OFFER, ACK and NAK packets from a lease and the boot policy's
 * decision. Pure: every input is an argument.
 */
import type { SubnetConfig } from '../config/types.js';
import { formatIpv4 } from '../net/ipv4.js';
import type { BootDecision } from '../policy/boot-policy.js';
import {
  BootOp, BOOTP_MIN_PACKET_BYTES, DHCP_MIN_MAX_MESSAGE_BYTES, FILE_BYTES, IP_UDP_HEADER_BYTES, MessageType, OptionCode,
} from './codec/constants.js';
import { Option, readOption, writeOption } from './codec/options.js';
import { encodingLength, type DhcpPacket } from './codec/packet.js';
import { buildPxeVendorOptions } from './codec/pxe-vendor.js';

/** Option 175 payload: sub-option 176 (no-pxedhcp), length 1, value 1 (iPXE include/ipxe/dhcp.h DHCP_EB_NO_PXEDHCP). */
const IPXE_NO_PXEDHCP = Buffer.from([176, 1, 1]);

export interface ReplyInput {
  request: DhcpPacket;
  type: typeof MessageType.Offer | typeof MessageType.Ack | typeof MessageType.Nak;
  serverId: number;
  /** The address handed out; 0 for NAK, INFORM and proxy replies. */
  yiaddr: number;
  /** Null for NAK and INFORM (RFC 2131 §4.3.5: no lease time in an INFORM's ACK). */
  leaseTimeS: number | null;
  subnet: SubnetConfig | null;
  decision: BootDecision | null;
  /** Host name to hand the client (option 12), e.g. the configured host's name. */
  hostName?: string | null;
  /** NAK text (option 56). */
  message?: string;
}

/**
 * Options dropped, in this order, when a reply would be bigger than the
 * client accepts (option 57, at least 576 bytes of IP datagram). Options the
 * boot depends on (53, 54, 51, 1, 3, 60, 66, 67, 43, 97, 82) are never
 * dropped.
 */
const DROPPABLE_OPTIONS = [OptionCode.DomainSearch, OptionCode.HostName, OptionCode.DomainName, OptionCode.BroadcastAddress, OptionCode.DomainServer, OptionCode.RenewalTime, OptionCode.RebindingTime, OptionCode.TftpServerName];

/** Largest DHCP message (without IP/UDP headers) the client said it accepts. */
export function maxReplyBytes(request: DhcpPacket): number {
  const declared = readOption(request.options, Option.maxMessageSize);
  return Math.max(declared ?? DHCP_MIN_MAX_MESSAGE_BYTES, DHCP_MIN_MAX_MESSAGE_BYTES) - IP_UDP_HEADER_BYTES;
}

export function buildReply(input: ReplyInput): DhcpPacket {
  const { request, type, decision } = input;
  const options = new Map<number, Buffer>();
  const reply: DhcpPacket = {
    op: BootOp.Reply, htype: request.htype, hlen: request.hlen, hops: 0, xid: request.xid, secs: 0, flags: request.flags,
    // RFC 2131 table 3: ciaddr is copied into ACKs (renewing, INFORM), zero in OFFER and NAK.
    ciaddr: type === MessageType.Ack ? request.ciaddr : 0,
    yiaddr: input.yiaddr, siaddr: 0, giaddr: request.giaddr,
    // Shared with the request, never written to: the encoder copies it.
    chaddr: request.chaddr,
    sname: '', file: '', options,
  };
  options.set(OptionCode.MessageType, MESSAGE_TYPE_BYTES[type]!);
  options.set(OptionCode.ServerIdentifier, cachedU32(input.serverId));

  if (type === MessageType.Nak) {
    if (input.message) writeOption(options, Option.message, input.message);
    return reply;
  }

  if (input.leaseTimeS !== null) {
    setLeaseTimeOptions(options, input.leaseTimeS);
  }
  if (input.subnet !== null) for (const [code, data] of subnetOptions(input.subnet)) options.set(code, data);
  if (input.hostName) writeOption(options, Option.hostName, input.hostName);
  if (decision !== null) addBootOptions(reply, request, decision);
  // iPXE waits about 3 s after an address offer for a proxyDHCP offer that an
  // authoritative netboot never sends (measured in the e2e lab: offer 32.6 s,
  // request 35.6 s). Its encapsulated option 175, sub-option 176 "no-pxedhcp"
  // says none is coming. Not in proxy replies (yiaddr 0): there the proxy is us.
  if (decision?.client.stage === 'ipxe' && input.yiaddr !== 0) options.set(OptionCode.IpxeEncapsulated, IPXE_NO_PXEDHCP);
  // RFC 3046 §2.2: the relay agent information goes back exactly as it came, as the last option.
  const relayInfo = request.options.get(OptionCode.RelayAgentInformation);
  // A view into the request, like every decoded option: the reply is encoded (copied) before the request goes.
  if (relayInfo !== undefined) options.set(OptionCode.RelayAgentInformation, relayInfo);
  fitToClient(reply, maxReplyBytes(request));
  return reply;
}

/*
 * Option payloads that are the same in every reply (message type, server id,
 * a subnet's options, the configured lease time) are built once and shared by
 * the replies, which only read them (the encoder copies). Keyed by value or by
 * the config object, so a reload simply makes new ones.
 */
const MESSAGE_TYPE_BYTES: Record<number, Buffer> = Object.fromEntries(
  [MessageType.Offer, MessageType.Ack, MessageType.Nak].map((value) => [value, Buffer.from([value])]),
);

const u32Payloads = new Map<number, Buffer>();
function cachedU32(value: number): Buffer {
  let payload = u32Payloads.get(value);
  if (payload === undefined) {
    if (u32Payloads.size >= 64) u32Payloads.clear();
    payload = Buffer.alloc(4);
    payload.writeUInt32BE(value >>> 0, 0);
    u32Payloads.set(value, payload);
  }
  return payload;
}

/** Options 51, 58, 59; RFC 2131 §4.4.5 defaults: T1 = 0.5, T2 = 0.875 of the lease. */
function leaseTimeOptions(leaseTimeS: number): [Buffer, Buffer, Buffer] {
  return [cachedU32(leaseTimeS), cachedU32(Math.floor(leaseTimeS * 0.5)), cachedU32(Math.floor(leaseTimeS * 0.875))];
}

const subnetPayloads = new WeakMap<SubnetConfig, [number, Buffer][]>();
function subnetOptions(subnet: SubnetConfig): [number, Buffer][] {
  let payloads = subnetPayloads.get(subnet);
  if (payloads === undefined) {
    const options = new Map<number, Buffer>();
    writeOption(options, Option.subnetMask, subnet.cidr.mask);
    if (subnet.router !== null) writeOption(options, Option.router, [subnet.router]);
    if (subnet.dns.length > 0) writeOption(options, Option.domainServer, subnet.dns);
    if (subnet.domain !== null) writeOption(options, Option.domainName, subnet.domain);
    writeOption(options, Option.broadcastAddress, subnet.cidr.broadcast);
    payloads = [...options];
    subnetPayloads.set(subnet, payloads);
  }
  return payloads;
}

function addBootOptions(reply: DhcpPacket, request: DhcpPacket, decision: BootDecision): void {
  const options = reply.options;
  // PXE spec §2.2.2 / OVMF: a PXE client ignores an offer without option 60 "PXEClient"; UEFI HTTP boot one without "HTTPClient".
  if (decision.vendorClassReply !== null) writeOption(options, Option.vendorClass, decision.vendorClassReply);
  if (decision.bootFile === null) return;
  const isUrl = /^[a-z]+:\/\//i.test(decision.bootFile);
  reply.siaddr = decision.nextServer;
  if (!isUrl) writeOption(options, Option.tftpServerName, formatIpv4(decision.nextServer));
  writeOption(options, Option.bootfileName, decision.bootFile);
  // The BOOTP file field is what old PXE ROMs read; a URL longer than the field goes in option 67 only.
  if (Buffer.byteLength(decision.bootFile, 'latin1') < FILE_BYTES) reply.file = decision.bootFile;
  // Option 43 "use the boot file in this packet, no discovery": without it EDK2 (OVMF, most
  // UEFI PXE) classes a PXEClient offer as "BINL", asks port 4011 of siaddr for the boot
  // file, gets no answer and fails with PXE-E16 "No valid offer received" although the
  // offer names a boot file (NetworkPkg/UefiPxeBcDxe/PxeBcDhcp4.c, PxeBcRetryBinlOffer).
  if (decision.vendorClassReply === 'PXEClient') options.set(OptionCode.VendorSpecific, buildPxeVendorOptions());
  // PXE spec §2.2.5: a PXE server echoes the client's machine identifier (97).
  const machineId = request.options.get(OptionCode.ClientMachineId);
  if (machineId !== undefined) options.set(OptionCode.ClientMachineId, machineId);
}

/** Drops optional options until the reply fits `maxBytes`; never below the 300-byte BOOTP minimum the encoder pads to. */
function fitToClient(reply: DhcpPacket, maxBytes: number): void {
  const limit = Math.max(maxBytes, BOOTP_MIN_PACKET_BYTES);
  for (const code of DROPPABLE_OPTIONS) {
    if (encodingLength(reply) <= limit) return;
    reply.options.delete(code);
  }
}

/** Options 51, 58, 59 of a reply (a shortened lease, say). */
export function setLeaseTime(reply: DhcpPacket, leaseTimeS: number): void {
  setLeaseTimeOptions(reply.options, leaseTimeS);
}

function setLeaseTimeOptions(options: Map<number, Buffer>, leaseTimeS: number): void {
  const [lease, renewal, rebinding] = leaseTimeOptions(leaseTimeS);
  options.set(OptionCode.LeaseTime, lease);
  options.set(OptionCode.RenewalTime, renewal);
  options.set(OptionCode.RebindingTime, rebinding);
}
