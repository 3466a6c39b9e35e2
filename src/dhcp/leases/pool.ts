/**
 * The addresses of one subnet's pool that may be handed out: the configured
 * ranges minus the network and broadcast addresses, the server's, the
 * router's and every reserved host address (reserved addresses go only to
 * their host, never to the pool).
 *
 * Allocation is next-fit: a cursor walks the ranges, so a fresh address is
 * found in O(1) on average and recently released addresses are the last to
 * be reused (a client that lost its lease file tends to come back and find
 * its old address still free). The pool counts addresses in use so an
 * exhausted pool answers at once instead of scanning.
 */
import type { SubnetConfig } from '../../config/types.js';
import { cidrContains, type Cidr } from '../../net/ipv4.js';

export class AddressPool {
  readonly cidr: Cidr;
  readonly subnet: SubnetConfig;
  /** Addresses the pool could hand out (ranges minus exclusions). */
  readonly size: number;
  private readonly ranges: { first: number; last: number }[];
  private readonly excluded: ReadonlySet<number>;
  private readonly inUse = new Set<number>();
  private cursorRange = 0;
  private cursor: number;

  constructor(subnet: SubnetConfig, excluded: Iterable<number>) {
    this.subnet = subnet;
    this.cidr = subnet.cidr;
    const exclusions = new Set<number>(excluded);
    exclusions.add(subnet.cidr.network);
    exclusions.add(subnet.cidr.broadcast);
    if (subnet.router !== null) exclusions.add(subnet.router);
    this.excluded = exclusions;
    this.ranges = subnet.pools.map((range) => ({ first: range.first >>> 0, last: range.last >>> 0 }));
    let size = 0;
    for (const range of this.ranges) {
      size += range.last - range.first + 1;
      for (const address of exclusions) if (address >= range.first && address <= range.last) size -= 1;
    }
    this.size = size;
    this.cursor = this.ranges[0]?.first ?? 0;
  }

  /** Inside this pool's subnet (a relay's giaddr or a requested address picks the pool by this). */
  inSubnet(address: number): boolean {
    return cidrContains(this.cidr, address);
  }

  /** One of the pool's handable addresses. */
  contains(address: number): boolean {
    if (this.excluded.has(address)) return false;
    return this.ranges.some((range) => address >= range.first && address <= range.last);
  }

  markUsed(address: number): void {
    if (this.contains(address)) this.inUse.add(address);
  }

  markFree(address: number): void {
    this.inUse.delete(address);
  }

  get usedCount(): number {
    return this.inUse.size;
  }

  get freeCount(): number {
    return this.size - this.inUse.size;
  }

  /** The next address not in use, or null when every address is. Does not mark it used (the lease table does). */
  nextFree(): number | null {
    if (this.inUse.size >= this.size || this.ranges.length === 0) return null;
    const total = this.ranges.reduce((sum, range) => sum + (range.last - range.first + 1), 0);
    for (let step = 0; step < total; step++) {
      const range = this.ranges[this.cursorRange]!;
      const candidate = this.cursor;
      if (this.cursor >= range.last) {
        this.cursorRange = (this.cursorRange + 1) % this.ranges.length;
        this.cursor = this.ranges[this.cursorRange]!.first;
      } else {
        this.cursor += 1;
      }
      if (!this.excluded.has(candidate) && !this.inUse.has(candidate)) return candidate;
    }
    return null;
  }
}
