/**
 * The one place that decides what a client boots. DHCP asks it for the boot
 * file and next-server, TFTP for generated loader configs, HTTP for iPXE
 * scripts and answer files; none of them decides on its own.
 *
 * Pure: the config and a read-only view of runtime state in, a decision out.
 */
import type { Config, FirmwareKind, HostConfig, LoaderKind, ProfileConfig } from '../config/types.js';
import { formatIpv4 } from '../net/ipv4.js';
import type { ClientIdentity } from './client-identity.js';
import { hostScriptUrl, tftpFileUrl } from './urls.js';

/** Runtime facts the policy needs but does not own. */
export interface BootState {
  /** The host's boot-once install has been reported done (so it boots locally until re-armed). */
  isOnceDone(hostName: string): boolean;
  /**
   * This MAC was handed an iPXE binary moments ago. An iPXE build that does not
   * identify itself (FlexBoot on Mellanox NICs sends neither user class "iPXE"
   * nor option 175) would otherwise be handed iPXE again, forever.
   */
  wasRecentlyHandedIpxe?(mac: string): boolean;
}

export const NO_BOOT_STATE: BootState = { isOnceDone: () => false };

export interface BootDecision {
  client: ClientIdentity;
  /** The configured host, or null for an unknown machine on the default profile. */
  host: HostConfig | null;
  profile: ProfileConfig;
  /** Boot from disk: the profile says so, or a boot-once install is done. */
  localBoot: boolean;
  /** The loader this boot goes through (the profile's, unless the firmware has no file for it). */
  loader: LoaderKind;
  /**
   * What DHCP puts in `file` and option 67: a path relative to the TFTP root,
   * or an http URL (iPXE scripts, UEFI HTTP boot). Null: no boot file (the
   * firmware moves on to its next boot device).
   */
  bootFile: string | null;
  /** siaddr / option 66: where the boot file is fetched by TFTP. */
  nextServer: number;
  /** Option 60 in the reply: PXE firmware wants "PXEClient", UEFI HTTP boot "HTTPClient". */
  vendorClassReply: 'PXEClient' | 'HTTPClient' | null;
  /** The iPXE script URL for this machine. */
  scriptUrl: string;
  /** One line for logs, events and `netboot explain`. */
  reason: string;
}

/** The host entry for a MAC (already normalised), if any. */
export function findHost(config: Config, mac: string): HostConfig | null {
  return config.hostsByMac.get(mac) ?? null;
}

/** The profile a machine boots: its own, else the default; null means "ignore this machine". */
export function profileFor(config: Config, host: HostConfig | null): ProfileConfig | null {
  const name = host?.profile ?? config.defaultProfile;
  return name === null ? null : config.profiles.get(name) ?? null;
}

/**
 * What this client boots, or null when netboot should not offer it anything
 * to boot (an unknown machine with no default profile, a non-PXE client).
 */
export function decideBoot(config: Config, client: ClientIdentity, state: BootState = NO_BOOT_STATE): BootDecision | null {
  const host = findHost(config, client.mac);
  const profile = profileFor(config, host);
  if (profile === null) return null;
  // A laptop asking for an address is not a boot client; handing it a boot
  // file is harmless at best. Known hosts are booted whatever they send.
  if (!client.isPxe && host === null && !config.dhcp.bootUnknownNonPxe) return null;

  const onceDone = host !== null && host.once && state.isOnceDone(host.name);
  const localBoot = profile.localboot || onceDone;
  const scriptUrl = hostScriptUrl(config, client.mac);
  const who = host ? `host ${host.name}` : 'unknown machine';
  const why = onceDone ? 'boot-once install done, booting locally' : localBoot ? 'profile boots locally' : `profile ${profile.name}`;
  const base = { client, host, profile, localBoot, scriptUrl, nextServer: config.server.address };

  // Local boot and iPXE profiles both go through an iPXE script once iPXE runs:
  // the script says `exit` for local boot. Other loaders are handed as files.
  const wantsIpxe = profile.loader === 'ipxe' || localBoot;
  const unidentifiedIpxe = client.stage === 'firmware' && !client.httpBoot && (state.wasRecentlyHandedIpxe?.(client.mac) ?? false);

  if (client.stage === 'ipxe' || (unidentifiedIpxe && wantsIpxe)) {
    if (wantsIpxe) {
      const note = client.stage === 'ipxe' ? 'iPXE' : 'iPXE that did not identify itself (handed iPXE moments ago)';
      return { ...base, loader: 'ipxe', bootFile: scriptUrl, vendorClassReply: null, reason: `${who}: ${why}; ${note} gets its script` };
    }
    // iPXE (for instance a NIC's iPXE ROM under SeaBIOS) can chain to pxelinux or GRUB by TFTP.
  }

  const loaderChoice = chooseLoaderFile(config, wantsIpxe ? 'ipxe' : profile.loader, client.firmware);
  if (loaderChoice === null) {
    return { ...base, loader: profile.loader, bootFile: null, vendorClassReply: vendorClassFor(client), reason: `${who}: no boot loader configured for ${client.firmware}` };
  }
  const fallbackNote = loaderChoice.loader !== profile.loader && !localBoot ? ` (no ${profile.loader} loader for ${client.firmware}, using ${loaderChoice.loader})` : '';
  const bootFile = client.httpBoot ? tftpFileUrl(config, loaderChoice.file) : loaderChoice.file;
  return {
    ...base,
    loader: loaderChoice.loader,
    bootFile,
    vendorClassReply: vendorClassFor(client),
    reason: `${who}: ${why}; ${client.firmware}${client.httpBoot ? ' HTTP boot' : ''} gets ${loaderChoice.loader} ${loaderChoice.file}${fallbackNote}`,
  };
}

function vendorClassFor(client: ClientIdentity): BootDecision['vendorClassReply'] {
  if (client.httpBoot) return 'HTTPClient';
  return client.isPxe ? 'PXEClient' : null;
}

/** The loader file for a firmware kind; falls back to iPXE when the wanted loader has none for it (pxelinux on arm64). */
function chooseLoaderFile(config: Config, loader: LoaderKind, firmware: FirmwareKind): { loader: LoaderKind; file: string } | null {
  const file = config.bootloaders[loader][firmware];
  if (file !== undefined) return { loader, file };
  const ipxeFile = config.bootloaders.ipxe[firmware];
  return ipxeFile === undefined ? null : { loader: 'ipxe', file: ipxeFile };
}

/** The address a host has by reservation, as text ('' when none). */
export function reservedAddressText(host: HostConfig | null): string {
  return host?.ip == null ? '' : formatIpv4(host.ip);
}
