/** Usage text, one entry per command, shown by --help and after a usage error. */

export const COMMAND_USAGE: Readonly<Record<string, string>> = {
  serve: `netboot serve --config FILE [--allow-missing]
  Validate the config, then run DHCP, TFTP and HTTP as it enables them.
  Missing kernels, initrds, templates or trees are errors unless --allow-missing.
  SIGTERM/SIGINT stop (in-flight transfers get 1.5 s); SIGHUP reloads the config
  (a config with errors is refused and the running one stays).`,
  check: `netboot check --config FILE
  Validate the config and summarise hosts, profiles and services. Every problem
  is printed as file:line:col path: reason. Missing files are warnings here.
  Exit 0: no errors (warnings allowed); 1: errors.`,
  explain: `netboot explain --config FILE MAC [--arch bios|uefi-x64|uefi-ia32|uefi-arm64|ipxe|uefi-http]
  Print exactly what that machine would be handed: address, next-server, boot
  file, and the generated iPXE script / pxelinux.cfg / grub.cfg and answer file.
  --arch is the firmware asking (default bios); ipxe is iPXE already running.`,
  leases: `netboot leases --config FILE [--json]
  List the DHCP leases in the config's lease file.`,
  reinstall: `netboot reinstall --config FILE HOST
  Re-arm a boot-once host: its next network boot installs again. Asks the running
  server (POST /api/hosts/HOST/reinstall with http.apiToken); when no server
  is running, changes the boot-once state file directly.`,
  done: `netboot done --config FILE HOST
  Mark a boot-once host's install as done: it boots from disk until re-armed.
  Same route to the server as reinstall (POST /api/hosts/HOST/done).`,
  firewall: `netboot firewall --config FILE [--nft|--iptables]
  Print firewall rules that admit what the config serves (default: nft).`,
  init: `netboot init [--dir DIR]
  Copy the boot loaders from the installed Debian packages (pxelinux, syslinux-common,
  ipxe) into the TFTP root DIR (default: tftpboot). Safe to run again.`,
};

export function mainUsage(): string {
  return `netboot: a PXE network-boot appliance (DHCP, TFTP and HTTP from one config)

Usage:
  netboot serve     --config FILE [--allow-missing]   run the appliance
  netboot check     --config FILE                     validate and summarise a config
  netboot explain   --config FILE MAC [--arch ARCH]   what a machine would be handed
  netboot leases    --config FILE [--json]            list DHCP leases
  netboot reinstall --config FILE HOST                re-arm a boot-once host
  netboot done      --config FILE HOST                mark a boot-once install done
  netboot firewall  --config FILE [--nft|--iptables]  print matching firewall rules
  netboot init      [--dir DIR]                       copy boot loaders into the TFTP root
  netboot --help | COMMAND --help | --version

Exit codes: 0 ok, 1 config errors, 2 usage, 3 cannot bind or start,
4 host or boot loader not found, 5 server refused or state not written, 70 internal error,
130 stopped by a second signal.
See docs/cli.md.`;
}
