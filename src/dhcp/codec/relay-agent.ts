/**
 * Option 82, relay agent information (RFC 3046). The server never builds it:
 * RFC 3046 §2.2 says a server echoes it back unchanged in its reply, so the
 * raw bytes are copied. The sub-options are decoded only for logs.
 */
import { readSubOptions } from './tlv.js';

export const RelayAgentSubOption = { CircuitId: 1, RemoteId: 2, LinkSelection: 5, SubscriberId: 6 } as const;

export interface RelayAgentInformation {
  circuitId: Buffer | null;
  remoteId: Buffer | null;
  /** RFC 3527: the subnet the relay asks the server to choose an address from. */
  linkSelection: number | null;
  raw: [number, Buffer][];
}

export function readRelayAgentInformation(data: Buffer): RelayAgentInformation | null {
  const raw = readSubOptions(data, { padAndEnd: false });
  if (raw === null) return null;
  const find = (code: number): Buffer | null => raw.find(([entry]) => entry === code)?.[1] ?? null;
  const link = find(RelayAgentSubOption.LinkSelection);
  return {
    circuitId: find(RelayAgentSubOption.CircuitId),
    remoteId: find(RelayAgentSubOption.RemoteId),
    linkSelection: link !== null && link.length === 4 ? link.readUInt32BE(0) : null,
    raw,
  };
}

export function showRelayAgentInformation(value: RelayAgentInformation): string {
  return value.raw.map(([code, data]) => `${code}=0x${data.toString('hex')}`).join(' ');
}
