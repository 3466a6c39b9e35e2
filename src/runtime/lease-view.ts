/**
 * What the rest of the appliance may know of the DHCP lease table: TFTP maps a
 * client address to its MAC (pxelinux asks for configs by hex address), HTTP
 * lists leases. The DHCP service provides the implementation.
 */

export interface LeaseInfo {
  mac: string;
  /** Dotted quad. */
  ip: string;
  hostName: string | null;
  state: 'offered' | 'bound' | 'released' | 'expired' | 'declined';
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Fixed by a host reservation in the config. */
  reserved: boolean;
  firmware: string | null;
  lastSeenAt: number | null;
}

export interface LeaseView {
  macForAddress(address: number): string | null;
  addressForMac(mac: string): number | null;
  list(): LeaseInfo[];
}

/** When DHCP is off: nothing is leased, but reservations still name their MACs. */
export const EMPTY_LEASE_VIEW: LeaseView = {
  macForAddress: () => null,
  addressForMac: () => null,
  list: () => [],
};
