/** The URLs netboot hands out, in one place so DHCP, TFTP configs and HTTP routes agree. */
import type { Config } from '../config/types.js';

/** iPXE script of one machine: `GET /boot/<mac>.ipxe`. */
export function hostScriptUrl(config: Config, mac: string): string {
  return `${config.http.baseUrl}/boot/${mac}.ipxe`;
}

/** A file of the TFTP root over HTTP: `/tftp/<path>`. Absolute URLs in the config pass through. */
export function tftpFileUrl(config: Config, path: string): string {
  if (/^https?:\/\//.test(path)) return path;
  return `${config.http.baseUrl}/tftp/${path.replace(/^\/+/, '')}`;
}

export function kickstartUrl(config: Config, hostName: string, mac: string): string {
  return hostName === '' ? `${config.http.baseUrl}/ks/by-mac/${mac}` : `${config.http.baseUrl}/ks/${hostName}`;
}

export function doneUrl(config: Config, hostName: string): string {
  return `${config.http.baseUrl}/api/hosts/${hostName}/done`;
}

export function treeUrl(config: Config, treeName: string): string {
  return `${config.http.baseUrl}/trees/${treeName}`;
}
