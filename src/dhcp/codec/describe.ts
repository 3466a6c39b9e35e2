/** A decoded packet as stable, readable text: the golden `.txt` fixtures and debug logs. */
import { formatIpv4 } from '../../net/ipv4.js';
import { messageTypeName } from './constants.js';
import { describeOption } from './options.js';
import { messageTypeOf, type DhcpPacket } from './packet.js';

export function describePacket(packet: DhcpPacket): string {
  const lines = [
    `op ${packet.op} (${packet.op === 1 ? 'request' : packet.op === 2 ? 'reply' : 'unknown'}) ${messageTypeName(messageTypeOf(packet))}`,
    `htype ${packet.htype} hlen ${packet.hlen} hops ${packet.hops}`,
    `xid 0x${packet.xid.toString(16).padStart(8, '0')} secs ${packet.secs} flags 0x${packet.flags.toString(16).padStart(4, '0')}`,
    `ciaddr ${formatIpv4(packet.ciaddr)} yiaddr ${formatIpv4(packet.yiaddr)} siaddr ${formatIpv4(packet.siaddr)} giaddr ${formatIpv4(packet.giaddr)}`,
    `chaddr ${packet.chaddr.subarray(0, Math.min(16, packet.hlen)).toString('hex').replace(/(..)(?!$)/g, '$1:')}`,
    `sname ${JSON.stringify(packet.sname)}`,
    `file ${JSON.stringify(packet.file)}`,
  ];
  for (const [code, data] of packet.options) lines.push(`option ${describeOption(code, data)}`);
  return `${lines.join('\n')}\n`;
}
