import { describe, expect, it } from 'vitest';
import { tftpFirewallRules } from '../../../src/tftp/firewall.js';
import { testConfig } from '../../helpers/service-context.js';

const config = (tftp: string, server = '') => testConfig(`
server: { address: 10.77.0.1${server} }
dhcp: { mode: off }
tftp: { root: /tmp${tftp} }
http: { enabled: false }
`);

describe('tftpFirewallRules', () => {
  it('with a port range: opens 69 and the range, no helper needed', () => {
    const rules = tftpFirewallRules(config(', portRange: 30000-30100, listen: 10.77.0.1', ', interface: br0'));
    expect(rules.nftables).toContain('iifname "br0" ip daddr 10.77.0.1 udp dport 69 accept');
    expect(rules.nftables).toContain('udp dport 30000-30100 accept');
    expect(rules.nftables).not.toContain('ct helper');
    expect(rules.iptables).toContain('-i br0 -d 10.77.0.1 -p udp --dport 30000:30100 -j ACCEPT');
  });

  it('without a range: the conntrack TFTP helper relates transfers to their request', () => {
    const rules = tftpFirewallRules(config(''));
    expect(rules.nftables).toContain('ct helper set "tftp-69"');
    expect(rules.nftables).toContain('ct state established,related accept');
    expect(rules.iptables).toContain('-j CT --helper tftp');
    expect(rules.iptables).toContain('--ctstate RELATED,ESTABLISHED');
    expect(rules.nftables).not.toContain('modprobe');
  });

  it('a non-standard port without a range says how to point the helper at it', () => {
    expect(tftpFirewallRules(config(', port: 6969')).iptables).toContain('modprobe nf_conntrack_tftp ports=6969');
  });
});
