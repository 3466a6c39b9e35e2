/**
 * Remembers which MACs were handed an iPXE binary moments ago, for the boot
 * policy's `wasRecentlyHandedIpxe`. iPXE builds that do not identify
 * themselves (FlexBoot on Mellanox ConnectX NICs sends neither user class
 * "iPXE" nor option 175) look exactly like the firmware that loaded them; a
 * MAC that fetched iPXE a minute ago and asks again is that iPXE, and gets its
 * script instead of iPXE again, forever.
 */
import type { BootDecision, BootState } from '../policy/boot-policy.js';

/** Long enough for iPXE to load over TFTP and start DHCP (seconds under TCG), short enough that a reboot an hour later starts from the firmware again. */
export const IPXE_HANDOUT_MEMORY_MS = 60_000;

export class IpxeHandoutMemory {
  private readonly handedAt = new Map<string, { at: number; xid: number | null }>();

  constructor(private readonly clock: () => number = Date.now, private readonly memoryMs = IPXE_HANDOUT_MEMORY_MS) {}

  /**
   * Call when a reply that hands out `decision` is sent. `xid` is the
   * transaction it ended: a retransmission within that same transaction is
   * still the firmware, not the iPXE it loads.
   */
  note(decision: BootDecision, xid: number | null = null): void {
    if (decision.client.stage !== 'firmware' || decision.loader !== 'ipxe' || decision.bootFile === null) return;
    if (decision.bootFile === decision.scriptUrl) return;
    this.handedAt.set(decision.client.mac, { at: this.clock(), xid });
    if (this.handedAt.size > 10_000) this.prune();
  }

  wasRecentlyHandedIpxe(mac: string, xid: number | null = null): boolean {
    const entry = this.handedAt.get(mac);
    if (entry === undefined) return false;
    if (this.clock() - entry.at > this.memoryMs) {
      this.handedAt.delete(mac);
      return false;
    }
    return xid === null || entry.xid === null || entry.xid !== xid;
  }

  private prune(): void {
    const now = this.clock();
    for (const [mac, entry] of this.handedAt) if (now - entry.at > this.memoryMs) this.handedAt.delete(mac);
  }

  /**
   * The context's boot state plus this memory, for a request with transaction
   * id `xid`. One object serves every request: each decision is made
   * synchronously with the xid it was handed (no allocation per packet).
   */
  wrap(state: BootState): (xid: number | null) => BootState {
    let currentXid: number | null = null;
    const view: BootState = {
      isOnceDone: (hostName) => state.isOnceDone(hostName),
      wasRecentlyHandedIpxe: (mac) => this.wasRecentlyHandedIpxe(mac, currentXid),
    };
    return (xid) => {
      currentXid = xid;
      return view;
    };
  }
}
