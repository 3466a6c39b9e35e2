/**
 * Numbers from RFC 951 (BOOTP), RFC 2131 (DHCP) and RFC 2132 (options), as
 * `as const` objects with reverse lookups for logs.
 */

/** BOOTP `op` field (RFC 951). */
export const BootOp = { Request: 1, Reply: 2 } as const;

/** Option 53 values (RFC 2132 §9.6). */
export const MessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
} as const;
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

const MESSAGE_TYPE_NAMES: Record<number, string> = {
  1: 'discover', 2: 'offer', 3: 'request', 4: 'decline', 5: 'ack', 6: 'nak', 7: 'release', 8: 'inform',
};

/** `discover`, `ack`, …; `type-<n>` for values outside RFC 2132. */
export function messageTypeName(type: number | null): string {
  if (type === null) return 'bootp';
  return MESSAGE_TYPE_NAMES[type] ?? `type-${type}`;
}

export function isMessageType(value: number): value is MessageTypeValue {
  return value >= 1 && value <= 8;
}

/** Option codes netboot reads or writes (RFC 2132 unless noted). */
export const OptionCode = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DomainServer: 6,
  HostName: 12,
  DomainName: 15,
  BroadcastAddress: 28,
  VendorSpecific: 43,
  RequestedAddress: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerIdentifier: 54,
  ParameterRequestList: 55,
  Message: 56,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  VendorClass: 60,
  ClientIdentifier: 61,
  TftpServerName: 66,
  BootfileName: 67,
  /** RFC 3004. iPXE sends the bare text "iPXE" rather than RFC 3004's length-prefixed list. */
  UserClass: 77,
  /** RFC 3046: relay agent information, echoed back byte-exact. */
  RelayAgentInformation: 82,
  /** RFC 4578 §2.1: client system architecture. */
  ClientArchitecture: 93,
  /** RFC 4578 §2.2: client network interface identifier (UNDI version). */
  ClientNetworkInterface: 94,
  /** RFC 4578 §2.3: client machine identifier (GUID). */
  ClientMachineId: 97,
  /** RFC 3397: domain search list. */
  DomainSearch: 119,
  /** iPXE's encapsulated options; its presence says "this is iPXE". */
  IpxeEncapsulated: 175,
  End: 255,
} as const;

/** RFC 2131 §3: the magic cookie 99.130.83.99 that starts the options field. */
export const DHCP_MAGIC_COOKIE = 0x63825363;

/** Fixed BOOTP header: op..file (RFC 2131 §2, figure 1). */
export const BOOTP_HEADER_BYTES = 236;
/** Header plus magic cookie: the smallest DHCP packet with no options at all. */
export const DHCP_MIN_DECODE_BYTES = BOOTP_HEADER_BYTES + 4;
/** RFC 951 / RFC 1542 §2.1: BOOTP relays and old PXE ROMs drop replies shorter than 300 bytes. */
export const BOOTP_MIN_PACKET_BYTES = 300;
/** RFC 2131 §2: every client must accept a 576-byte IP datagram, i.e. 548 bytes of DHCP. */
export const DHCP_MIN_MAX_MESSAGE_BYTES = 576;
/** IPv4 (20) + UDP (8) header bytes, which option 57 counts (RFC 2132 §9.10). */
export const IP_UDP_HEADER_BYTES = 28;

/** RFC 2131 §2, figure 2: the leftmost bit of `flags` asks for broadcast replies. */
export const BROADCAST_FLAG = 0x8000;

export const SNAME_BYTES = 64;
export const FILE_BYTES = 128;
export const CHADDR_BYTES = 16;

/** htype for Ethernet (RFC 1700 ARP hardware types). */
export const HTYPE_ETHERNET = 1;
