/**
 * Who holds which address, in memory: leases by MAC and by address, offer
 * holds, declined addresses. Every decision the server makes reads and
 * changes this table synchronously, before any await, so two requests can
 * never both be told one address is theirs.
 *
 * A lease outlives its expiry as history: a client that comes back finds its
 * old address if nobody took it since. Expired and released addresses are
 * reused only once the pool has no never-used address left, oldest first.
 */
import type { SubnetConfig } from '../../config/types.js';
import type { LeaseInfo } from '../../runtime/lease-view.js';
import type { LeaseRecord } from './lease-record.js';
import { AddressPool } from './pool.js';

export type LeaseState = 'offered' | 'bound' | 'released';

export interface Lease {
  mac: string;
  ip: number;
  state: LeaseState;
  /** Milliseconds since the epoch: end of the offer hold, or of the lease. */
  expiresAt: number;
  /** While offered: the bound lease's expiry this offer stands on, if the client already had one (a retried DISCOVER keeps it). */
  boundUntil: number | null;
  hostName: string | null;
  firmware: string | null;
  reserved: boolean;
  lastSeenAt: number;
}

export interface LeaseMeta {
  hostName: string | null;
  firmware: string | null;
  reserved: boolean;
}

export class LeaseTable {
  private readonly byMac = new Map<string, Lease>();
  private readonly byIp = new Map<number, Lease>();
  /** Declined address → until when it stays out of use (ms). */
  private readonly declined = new Map<number, number>();
  private pools: AddressPool[] = [];
  /** Reserved address → MAC, from the config. */
  private reservations = new Map<number, string>();
  /** MAC → ACKs to SELECTING / INIT-REBOOT clients decided but not yet sent (journal write in flight); see server.ts release(). */
  private readonly acksInFlight = new Map<string, number>();
  /** MAC → a RELEASE of this address until then is the replaced binding's, arriving late; see server.ts release(). */
  private readonly lateReleases = new Map<string, { ip: number; until: number }>();

  constructor(subnets: SubnetConfig[], reservations: Map<number, string>, excluded: number[]) {
    this.configure(subnets, reservations, excluded);
  }

  /** Takes a new config's subnets and reservations (reload); leases stay. */
  configure(subnets: SubnetConfig[], reservations: Map<number, string>, excluded: number[]): void {
    this.reservations = new Map(reservations);
    this.pools = subnets.map((subnet) => new AddressPool(subnet, [...excluded, ...reservations.keys()]));
    for (const address of this.byIp.keys()) this.poolOf(address)?.markUsed(address);
    for (const address of this.declined.keys()) this.poolOf(address)?.markUsed(address);
  }

  get subnetPools(): readonly AddressPool[] {
    return this.pools;
  }

  /** The pool whose subnet holds `address` (a relay's giaddr, the server's address, a requested address). */
  poolFor(address: number): AddressPool | null {
    return this.pools.find((pool) => pool.inSubnet(address)) ?? null;
  }

  private poolOf(address: number): AddressPool | null {
    return this.pools.find((pool) => pool.contains(address)) ?? null;
  }

  reservedMac(address: number): string | null {
    return this.reservations.get(address) ?? null;
  }

  leaseOf(mac: string): Lease | null {
    return this.byMac.get(mac) ?? null;
  }

  leaseAt(address: number): Lease | null {
    return this.byIp.get(address) ?? null;
  }

  /** An offer hold or lease that still runs. */
  static isActive(lease: Lease, now: number): boolean {
    if (lease.state === 'released') return false;
    if (lease.expiresAt > now) return true;
    return lease.boundUntil !== null && lease.boundUntil > now;
  }

  isDeclined(address: number, now: number): boolean {
    const until = this.declined.get(address);
    if (until === undefined) return false;
    if (until > now) return true;
    this.declined.delete(address);
    if (!this.byIp.has(address)) this.poolOf(address)?.markFree(address);
    return false;
  }

  /**
   * Whether `mac` may have `address` now: inside a pool (or reserved for this
   * MAC), not reserved for another, not declined, not held by another client.
   */
  isAvailableFor(mac: string, address: number, now: number): boolean {
    const reservedFor = this.reservations.get(address);
    if (reservedFor !== undefined) return reservedFor === mac;
    const pool = this.poolOf(address);
    if (pool === null) return false;
    if (this.isDeclined(address, now)) return false;
    const holder = this.byIp.get(address);
    return holder === undefined || holder.mac === mac || !LeaseTable.isActive(holder, now);
  }

  /** A never-used address of `pool`, else the longest-expired one, else null (exhausted). */
  allocate(pool: AddressPool, now: number): number | null {
    for (;;) {
      const fresh = pool.nextFree();
      if (fresh === null) break;
      if (!this.isDeclined(fresh, now)) return fresh;
    }
    let oldest: Lease | null = null;
    for (const lease of this.byIp.values()) {
      if (!pool.contains(lease.ip) || LeaseTable.isActive(lease, now) || this.isDeclined(lease.ip, now)) continue;
      if (oldest === null || lease.expiresAt < oldest.expiresAt) oldest = lease;
    }
    return oldest?.ip ?? null;
  }

  private put(lease: Lease): void {
    const previousForMac = this.byMac.get(lease.mac);
    if (previousForMac !== undefined && previousForMac.ip !== lease.ip) this.removeAddress(previousForMac.ip, lease.mac);
    const previousAtIp = this.byIp.get(lease.ip);
    if (previousAtIp !== undefined && previousAtIp.mac !== lease.mac) this.byMac.delete(previousAtIp.mac);
    this.byMac.set(lease.mac, lease);
    this.byIp.set(lease.ip, lease);
    this.poolOf(lease.ip)?.markUsed(lease.ip);
  }

  private removeAddress(address: number, mac: string): void {
    const lease = this.byIp.get(address);
    if (lease === undefined || lease.mac !== mac) return;
    this.byIp.delete(address);
    if (!this.declined.has(address)) this.poolOf(address)?.markFree(address);
  }

  /** Holds `address` for `mac` until `now + holdS`. A bound lease of the same MAC on that address stays bound underneath. */
  offer(mac: string, address: number, now: number, holdS: number, meta: LeaseMeta): Lease {
    const existing = this.byMac.get(mac);
    const boundUntil = existing !== undefined && existing.ip === address && existing.state === 'bound' && existing.expiresAt > now
      ? existing.expiresAt
      : existing?.state === 'offered' && existing.ip === address ? existing.boundUntil : null;
    const lease: Lease = { mac, ip: address, state: 'offered', expiresAt: now + holdS * 1000, boundUntil, ...meta, lastSeenAt: now };
    this.put(lease);
    return lease;
  }

  bind(mac: string, address: number, now: number, leaseS: number, meta: LeaseMeta): Lease {
    const lease: Lease = { mac, ip: address, state: 'bound', expiresAt: now + leaseS * 1000, boundUntil: null, ...meta, lastSeenAt: now };
    this.put(lease);
    return lease;
  }

  /** Puts back what a failed persist undid: the lease as it was before `bind`. */
  restore(previous: Lease | null, mac: string, address: number): void {
    if (previous !== null) {
      this.put(previous);
      return;
    }
    const current = this.byMac.get(mac);
    if (current !== undefined && current.ip === address) {
      this.byMac.delete(mac);
      this.removeAddress(address, mac);
    }
  }

  /** The service holds an ACK (to a client without a lease yet) for `mac` until its record is on disk (then sent, or rolled back): mark and unmark it. */
  ackInFlight(mac: string, inFlight: boolean): void {
    const count = (this.acksInFlight.get(mac) ?? 0) + (inFlight ? 1 : -1);
    if (count > 0) this.acksInFlight.set(mac, count);
    else this.acksInFlight.delete(mac);
  }

  /** Whether an ACK for `mac` is decided but not yet sent. */
  hasAckInFlight(mac: string): boolean {
    return this.acksInFlight.has(mac);
  }

  /** After an ACK that replaced a binding of `address` still held for `mac`: its RELEASE may arrive until `until`. */
  expectLateRelease(mac: string, address: number, until: number): void {
    this.lateReleases.set(mac, { ip: address, until });
  }

  /** Whether a RELEASE of `address` by `mac` now is that late one; it is used up (one RELEASE per binding). */
  takeLateRelease(mac: string, address: number, now: number): boolean {
    const late = this.lateReleases.get(mac);
    if (late === undefined) return false;
    this.lateReleases.delete(mac);
    return late.ip === address && now <= late.until;
  }

  /** RELEASE: the address is free again, the MAC keeps it as history (it is offered the same one next time). */
  release(mac: string, now: number): Lease | null {
    const lease = this.byMac.get(mac);
    if (lease === undefined) return null;
    lease.state = 'released';
    lease.expiresAt = now;
    lease.boundUntil = null;
    return lease;
  }

  /** The client found `address` in use by someone else (RFC 2131 §4.3.3): keep it out of use for `holdS`. */
  decline(mac: string, address: number, now: number, holdS: number): void {
    this.declined.set(address, now + holdS * 1000);
    this.poolOf(address)?.markUsed(address);
    const lease = this.byMac.get(mac);
    if (lease !== undefined && lease.ip === address) {
      this.byMac.delete(mac);
      this.byIp.delete(address);
    }
  }

  /** Drops another client's lease on an address a reservation now claims. */
  evict(address: number): Lease | null {
    const lease = this.byIp.get(address);
    if (lease === undefined) return null;
    this.byMac.delete(lease.mac);
    this.removeAddress(address, lease.mac);
    return lease;
  }

  /** Offers whose hold ran out, with no bound lease under them, are forgotten. */
  sweep(now: number): void {
    for (const lease of [...this.byMac.values()]) {
      if (lease.state === 'offered' && !LeaseTable.isActive(lease, now)) {
        this.byMac.delete(lease.mac);
        this.removeAddress(lease.ip, lease.mac);
      }
    }
    for (const address of [...this.declined.keys()]) this.isDeclined(address, now);
    for (const [mac, late] of this.lateReleases) if (late.until < now) this.lateReleases.delete(mac);
  }

  load(records: LeaseRecord[]): void {
    for (const record of records) {
      if (record.state === 'declined') continue;
      this.put({ ...record, state: record.state, boundUntil: null });
    }
  }

  /** What the journal must hold for this lease (offers are not persisted: they are forgotten by a restart, harmlessly). */
  static recordOf(lease: Lease): LeaseRecord {
    const bound = lease.state === 'bound' || (lease.state === 'offered' && lease.boundUntil !== null);
    return {
      mac: lease.mac,
      ip: lease.ip,
      state: bound ? 'bound' : 'released',
      expiresAt: lease.state === 'offered' ? lease.boundUntil ?? lease.expiresAt : lease.expiresAt,
      hostName: lease.hostName,
      firmware: lease.firmware,
      reserved: lease.reserved,
      lastSeenAt: lease.lastSeenAt,
    };
  }

  /** Every lease the journal must keep: bound, released and expired ones (history), not bare offers. */
  records(): LeaseRecord[] {
    const records: LeaseRecord[] = [];
    for (const lease of this.byMac.values()) {
      if (lease.state === 'offered' && lease.boundUntil === null) continue;
      records.push(LeaseTable.recordOf(lease));
    }
    return records;
  }

  list(now: number): LeaseInfo[] {
    return [...this.byMac.values()].sort((a, b) => a.ip - b.ip).map((lease) => ({
      mac: lease.mac,
      ip: formatIp(lease.ip),
      hostName: lease.hostName,
      state: lease.state === 'released' ? 'released' : LeaseTable.isActive(lease, now) ? (lease.state === 'offered' && lease.boundUntil === null ? 'offered' : 'bound') : 'expired',
      expiresAt: lease.state === 'offered' && lease.boundUntil !== null ? lease.boundUntil : lease.expiresAt,
      reserved: lease.reserved,
      firmware: lease.firmware,
      lastSeenAt: lease.lastSeenAt,
    }));
  }

  /** Counts per state for the netboot_dhcp_leases gauge. */
  counts(now: number): Record<'offered' | 'bound' | 'released' | 'expired' | 'declined', number> {
    const counts = { offered: 0, bound: 0, released: 0, expired: 0, declined: 0 };
    for (const lease of this.byMac.values()) {
      if (lease.state === 'released') counts.released += 1;
      else if (!LeaseTable.isActive(lease, now)) counts.expired += 1;
      else if (lease.state === 'offered' && lease.boundUntil === null) counts.offered += 1;
      else counts.bound += 1;
    }
    for (const until of this.declined.values()) if (until > now) counts.declined += 1;
    return counts;
  }

  get size(): number {
    return this.byMac.size;
  }
}

function formatIp(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}
