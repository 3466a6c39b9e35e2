/** The marker initramfs for e2e tests; the logic lives in src/tools/lab/initramfs.ts (the demo uses it too). */
export { buildInitramfs, encodeCpioNewc, findMarker, initScript, sharedLibrariesOf, writeInitramfs, MARKER_PREFIX } from '../../src/tools/lab/initramfs.js';
export type { CpioEntry, InitramfsOptions } from '../../src/tools/lab/initramfs.js';
