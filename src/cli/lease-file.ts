/**
 * Reads the DHCP lease file for `netboot leases` and `netboot explain`,
 * through the DHCP service's own reader (src/dhcp/leases/read-leases.ts), so
 * the CLI never disagrees with the server about the format.
 */
import { existsSync } from 'node:fs';
import { readLeasesWithReport } from '../dhcp/leases/read-leases.js';
import type { LeaseInfo } from '../runtime/lease-view.js';

export interface LeaseFileResult {
  leases: LeaseInfo[];
  /** Why nothing or only part could be read (no file yet, damaged lines). */
  notes: string[];
}

export async function readLeaseFile(path: string): Promise<LeaseFileResult> {
  const { leases, skipped } = readLeasesWithReport(path);
  if (!existsSync(path)) return { leases: [], notes: [`no lease file yet at ${path} (nothing has been leased, or DHCP is off)`] };
  const notes = skipped.map((line) => `${path}:${line.line}: skipped a damaged record (${line.reason})`);
  return { leases, notes };
}
