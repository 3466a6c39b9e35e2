/** QEMU network-boot machines for e2e tests; the logic lives in src/tools/lab/qemu.ts (the demo uses it too). */
export { qemuArgs, qemuUnavailableReason, startMachine, BIOS_NIC_ROM, OVMF_CODE, OVMF_VARS } from '../../src/tools/lab/qemu.js';
export type { MachineFirmware, MachineSpec, RunningMachine } from '../../src/tools/lab/qemu.js';
