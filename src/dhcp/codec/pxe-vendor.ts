/**
 * Option 43 for PXE clients (PXE specification 2.1, §2.4.1 "PXE vendor
 * options"): sub-options that tell a PXE ROM how to find its boot server.
 * netboot only ever says "don't discover, use the boot file in this packet",
 * the way pixiecore and dnsmasq's proxy mode do; Intel ROMs answering a
 * proxyDHCP offer need it, or they wait for a boot-server discovery that
 * never comes.
 */
import { EncodeError } from './errors.js';
import { readSubOptions, writeSubOptions } from './tlv.js';

export const PxeSubOption = {
  /** Bit field; bit 3 (value 8): use the boot file name in the offer, skip discovery. */
  DiscoveryControl: 6,
  MulticastAddress: 7,
  BootServers: 8,
  BootMenu: 9,
  MenuPrompt: 10,
  BootItem: 71,
} as const;

export const PXE_DISCOVERY_USE_BOOTFILE = 0x08;
/** Bits 0 and 1: no broadcast and no multicast discovery. */
export const PXE_DISCOVERY_NO_BROADCAST_MULTICAST = 0x03;

export interface PxeVendorOptions {
  discoveryControl: number | null;
  /** Boot menu entries (sub-option 9): type and description. */
  menu: { type: number; description: string }[];
  prompt: { timeoutS: number; text: string } | null;
  /** Sub-option 71: the boot server type and layer the client selected. */
  bootItem: { type: number; layer: number } | null;
  /** Every sub-option, raw, in order. */
  raw: [number, Buffer][];
}

export function readPxeVendorOptions(data: Buffer): PxeVendorOptions | null {
  const raw = readSubOptions(data, { padAndEnd: true });
  if (raw === null) return null;
  const result: PxeVendorOptions = { discoveryControl: null, menu: [], prompt: null, bootItem: null, raw };
  for (const [code, value] of raw) {
    if (code === PxeSubOption.DiscoveryControl && value.length === 1) result.discoveryControl = value[0]!;
    if (code === PxeSubOption.BootMenu) {
      let position = 0;
      while (position + 3 <= value.length) {
        const length = value[position + 2]!;
        if (position + 3 + length > value.length) break;
        result.menu.push({ type: value.readUInt16BE(position), description: value.toString('latin1', position + 3, position + 3 + length) });
        position += 3 + length;
      }
    }
    if (code === PxeSubOption.MenuPrompt && value.length >= 1) result.prompt = { timeoutS: value[0]!, text: value.toString('latin1', 1) };
    if (code === PxeSubOption.BootItem && value.length === 4) result.bootItem = { type: value.readUInt16BE(0), layer: value.readUInt16BE(2) };
  }
  return result;
}

/**
 * What netboot sends a PXE ROM: discovery control "use the boot file here";
 * with `menuLabel`, also a one-entry menu and a zero-second prompt, which
 * some ROMs (older Intel, some Broadcom) require before they accept a
 * proxyDHCP offer at all.
 */
export function buildPxeVendorOptions(options: { menuLabel?: string } = {}): Buffer {
  const entries: [number, Buffer][] = [[PxeSubOption.DiscoveryControl, Buffer.from([PXE_DISCOVERY_USE_BOOTFILE | PXE_DISCOVERY_NO_BROADCAST_MULTICAST])]];
  if (options.menuLabel !== undefined) {
    const label = Buffer.from(options.menuLabel, 'latin1');
    if (label.length > 200) throw new EncodeError('PXE menu label longer than 200 bytes');
    // Type 0x8000: a vendor-specific boot server type (PXE spec table 2-4); layer 0.
    entries.push([PxeSubOption.BootMenu, Buffer.concat([Buffer.from([0x80, 0x00, label.length]), label])]);
    entries.push([PxeSubOption.MenuPrompt, Buffer.concat([Buffer.from([0]), Buffer.from('PXE', 'latin1')])]);
  }
  return writeSubOptions(entries, { end: true });
}

export function showPxeVendorOptions(value: PxeVendorOptions): string {
  const parts: string[] = [];
  if (value.discoveryControl !== null) parts.push(`discovery-control=${value.discoveryControl}`);
  for (const entry of value.menu) parts.push(`menu(0x${entry.type.toString(16)} ${JSON.stringify(entry.description)})`);
  if (value.prompt) parts.push(`prompt(${value.prompt.timeoutS}s ${JSON.stringify(value.prompt.text)})`);
  if (value.bootItem) parts.push(`boot-item(type 0x${value.bootItem.type.toString(16)} layer ${value.bootItem.layer})`);
  for (const [code, data] of value.raw) {
    if (![6, 9, 10, 71].includes(code)) parts.push(`${code}=0x${data.toString('hex')}`);
  }
  return parts.join(' ');
}
