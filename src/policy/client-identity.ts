/**
 * Works out, once, what kind of client is asking: its firmware (option 93,
 * refined by the vendor class 60) and its stage (the firmware's own PXE, an
 * iPXE that identified itself by user class 77 or its option 175, or UEFI HTTP
 * boot). DHCP builds this from a packet; TFTP and HTTP from what they know.
 */
import type { FirmwareKind } from '../config/types.js';
import { archInfo } from './arch.js';

/** What a client says about itself. Every field but the MAC is optional. */
export interface ClientFacts {
  mac: string;
  /** Option 93 (first value when several are sent). */
  arch?: number | null;
  /** Option 60 text. */
  vendorClass?: string | null;
  /** Option 77 text (the first user class when several). */
  userClass?: string | null;
  /** Option 175 was present (iPXE's encapsulated options). */
  hasIpxeOptions?: boolean;
  /** Option 97 client machine identifier (GUID), as text. */
  uuid?: string | null;
}

/** firmware: the machine's own PXE/HTTP stack; ipxe: iPXE is running and can fetch a script over HTTP. */
export type ClientStage = 'firmware' | 'ipxe';

export interface ClientIdentity {
  mac: string;
  firmware: FirmwareKind;
  stage: ClientStage;
  /** The firmware boots by HTTP (vendor class HTTPClient): it wants a URL, and the reply must say HTTPClient. */
  httpBoot: boolean;
  /** The client is network-boot firmware (or a loader) rather than an OS asking for an address. */
  isPxe: boolean;
  archCode: number | null;
  /** Option-93 value not in the table; the client is treated as BIOS and the caller logs it. */
  unknownArch: boolean;
  uuid: string | null;
}

const IPXE_USER_CLASS = 'iPXE';

export function identifyClient(facts: ClientFacts): ClientIdentity {
  const vendorClass = facts.vendorClass ?? '';
  const archCode = facts.arch ?? null;
  const info = archCode === null ? null : archInfo(archCode);
  const httpBootVendor = vendorClass.startsWith('HTTPClient');
  const pxeVendor = vendorClass.startsWith('PXEClient');
  const isIpxe = facts.userClass === IPXE_USER_CLASS || facts.hasIpxeOptions === true;
  return {
    mac: facts.mac,
    firmware: info?.firmware ?? 'bios',
    stage: isIpxe ? 'ipxe' : 'firmware',
    httpBoot: !isIpxe && (httpBootVendor || (info?.httpBoot ?? false)),
    isPxe: pxeVendor || httpBootVendor || isIpxe || archCode !== null,
    archCode,
    unknownArch: archCode !== null && info === null,
    uuid: facts.uuid ?? null,
  };
}
