/** What a DHCP packet says about the client, in the boot policy's terms (src/policy/client-identity.ts). */
import type { ClientFacts } from '../policy/client-identity.js';
import { formatGuid } from './codec/option-kinds.js';
import { Option, readOption } from './codec/options.js';
import type { DhcpPacket } from './codec/packet.js';

export function clientFactsOf(packet: DhcpPacket, mac: string): ClientFacts {
  const arch = readOption(packet.options, Option.clientArchitecture);
  const userClass = readOption(packet.options, Option.userClass);
  const machineId = readOption(packet.options, Option.clientMachineId);
  return {
    mac,
    arch: arch?.[0] ?? null,
    vendorClass: readOption(packet.options, Option.vendorClass),
    userClass: userClass?.[0] ?? null,
    hasIpxeOptions: packet.options.has(Option.ipxeEncapsulated.code),
    uuid: machineId === null ? null : formatGuid(machineId.guid),
  };
}
