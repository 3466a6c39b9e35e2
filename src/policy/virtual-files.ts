/**
 * Loader config files that exist only as answers computed from the config:
 * what pxelinux and GRUB ask the TFTP server for, answered per machine.
 */
import type { Config } from '../config/types.js';
import { parseMac } from '../net/mac.js';
import { decideBoot, type BootState } from './boot-policy.js';
import { identifyClient } from './client-identity.js';
import { renderGrubConfig, renderIpxeScript, renderPxelinuxConfig } from './render.js';

/** What TFTP knows about who is asking. */
export interface VirtualFileContext {
  /** The requesting client's address. */
  clientAddress: number | null;
  /** MAC that holds a lease or reservation on an address (from the DHCP lease table). */
  macForAddress(address: number): string | null;
  state: BootState;
}

type Renderer = typeof renderPxelinuxConfig;

/**
 * pxelinux asks `pxelinux.cfg/01-<mac>`, then its address in hex shortened a
 * digit at a time, then `default` (syslinux doc, "Configuration"). GRUB's
 * net image asks `grub.cfg-01-<mac>`, `grub.cfg-<hex ip>` and `grub.cfg`, in
 * its prefix folder.
 */
const MAC_NAMED = [
  { pattern: /^pxelinux\.cfg\/01-([0-9a-f-]{17})$/i, render: renderPxelinuxConfig },
  { pattern: /^(?:grub\/)?grub\.cfg-01-([0-9a-f-]{17})$/i, render: renderGrubConfig },
  { pattern: /^(?:netboot|ipxe)\/([0-9a-f:-]{17})\.ipxe$/i, render: renderIpxeScript },
] as const satisfies readonly { pattern: RegExp; render: Renderer }[];

const ADDRESS_NAMED = [
  { pattern: /^pxelinux\.cfg\/([0-9A-F]{8})$/, render: renderPxelinuxConfig },
  { pattern: /^(?:grub\/)?grub\.cfg-([0-9A-F]{8})$/, render: renderGrubConfig },
] as const;

const DEFAULT_NAMED = [
  { pattern: /^pxelinux\.cfg\/default$/, render: renderPxelinuxConfig },
  { pattern: /^(?:grub\/)?grub\.cfg$/, render: renderGrubConfig },
] as const;

/**
 * The generated text for a requested TFTP name, or null when the name is not
 * a virtual file (the caller then looks on disk) or nothing is to be served
 * for that machine (pxelinux then tries its next name).
 */
export function virtualTftpFile(config: Config, name: string, context: VirtualFileContext): string | null {
  for (const { pattern, render } of MAC_NAMED) {
    const match = pattern.exec(name);
    if (match) {
      const mac = parseMac(match[1]!);
      return mac === null ? null : renderFor(config, mac, context, render);
    }
  }
  for (const { pattern, render } of ADDRESS_NAMED) {
    const match = pattern.exec(name);
    if (match) {
      const address = parseInt(match[1]!, 16) >>> 0;
      const mac = context.macForAddress(address);
      return mac === null ? null : renderFor(config, mac, context, render);
    }
  }
  for (const { pattern, render } of DEFAULT_NAMED) {
    if (pattern.test(name)) {
      // `default` is for machines without a file of their own: the asker's
      // MAC (from its lease) when known, else the default profile.
      const mac = context.clientAddress === null ? null : context.macForAddress(context.clientAddress);
      return renderFor(config, mac ?? '00:00:00:00:00:00', context, render);
    }
  }
  return null;
}

function renderFor(config: Config, mac: string, context: VirtualFileContext, render: Renderer): string | null {
  // Whoever fetches a loader config is past the firmware stage; arch only
  // matters for picking loader files, which is done by then.
  const client = identifyClient({ mac, vendorClass: 'PXEClient' });
  const decision = decideBoot(config, client, context.state);
  if (decision === null) return null;
  const leased = context.clientAddress;
  return render(config, decision, decision.host?.ip ?? leased);
}
