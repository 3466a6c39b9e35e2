/**
 * Firewall rules that match the TFTP config, for `netboot firewall` / `netboot
 * check`. TFTP is the classic firewall casualty: the request goes to port 69
 * but every transfer runs on a fresh port (RFC 1350 §4), so a firewall that
 * opens only 69 breaks every boot after the first packet. Either open the
 * `tftp.portRange`, or let conntrack's TFTP helper relate the transfer.
 */
import type { Config } from '../config/types.js';

export interface FirewallRules {
  nftables: string;
  iptables: string;
}

export function tftpFirewallRules(config: Config): FirewallRules {
  const { port, portRange, listenAddress } = config.tftp;
  const iface = config.server.interface;
  const nftIface = iface ? `iifname "${iface}" ` : '';
  const nftAddr = listenAddress !== '0.0.0.0' ? `ip daddr ${listenAddress} ` : '';
  const iptIface = iface ? `-i ${iface} ` : '';
  const iptAddr = listenAddress !== '0.0.0.0' ? `-d ${listenAddress} ` : '';

  const nft: string[] = ['table inet netboot_tftp {'];
  const ipt: string[] = [];
  if (portRange) {
    const range = `${portRange.first}-${portRange.last}`;
    nft.push('  chain input {', '    type filter hook input priority filter; policy accept;');
    nft.push(`    ${nftIface}${nftAddr}udp dport ${port} accept comment "TFTP requests"`);
    nft.push(`    ${nftIface}${nftAddr}udp dport ${range} accept comment "TFTP transfers (tftp.portRange)"`);
    nft.push('  }', '}');
    ipt.push(`iptables -A INPUT ${iptIface}${iptAddr}-p udp --dport ${port} -j ACCEPT`);
    ipt.push(`iptables -A INPUT ${iptIface}${iptAddr}-p udp --dport ${portRange.first}:${portRange.last} -j ACCEPT`);
  } else {
    // No fixed transfer ports: conntrack's TFTP helper marks the client's
    // ACKs to our ephemeral port as RELATED to its request.
    nft.push(`  ct helper tftp-${port} {`, '    type "tftp" protocol udp;', '  }');
    nft.push('  chain input {', '    type filter hook input priority filter; policy accept;');
    nft.push(`    ${nftIface}${nftAddr}udp dport ${port} ct helper set "tftp-${port}" accept comment "TFTP requests"`);
    nft.push('    ct state established,related accept comment "TFTP transfers (conntrack helper)"');
    nft.push('  }', '}');
    ipt.push(`iptables -t raw -A PREROUTING ${iptIface}${iptAddr}-p udp --dport ${port} -j CT --helper tftp`);
    ipt.push(`iptables -A INPUT ${iptIface}${iptAddr}-p udp --dport ${port} -j ACCEPT`);
    ipt.push('iptables -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  }
  if (port !== 69 && !portRange) {
    nft.unshift(`# the kernel's TFTP helper watches port 69 unless loaded with ports=${port} (modprobe nf_conntrack_tftp ports=${port})`);
    ipt.unshift(`# the kernel's TFTP helper watches port 69 unless loaded with ports=${port} (modprobe nf_conntrack_tftp ports=${port})`);
  }
  return { nftables: `${nft.join('\n')}\n`, iptables: `${ipt.join('\n')}\n` };
}
