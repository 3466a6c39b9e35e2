/**
 * The V8 flags the `netboot` executable runs Node with. They live in three
 * places that must agree: the #! line of src/cli/main.ts (what `netboot`
 * and the systemd unit run), `npm start`, and the benchmarks (which must
 * measure what admins run). test/unit/runtime/node-flags.test.ts checks them.
 *
 * --max-semi-space-size=1 (MiB): V8 lets a busy isolate grow its young
 * generation to 16 MiB a semi-space, and the main thread is busy in a boot
 * storm (it is one of the TFTP transfer lanes, and every received datagram
 * leaves a Buffer and an rinfo object behind). Those pages stay resident: at
 * 200 concurrent TFTP clients peak RSS went 126 → 112 MB with the cap, for the
 * same MB/s and CPU seconds, and DHCP at 12,000-16,000 exchanges/s showed no
 * difference beyond run-to-run noise (bench/tftp.mjs, bench/dhcp.mjs A/B).
 * It cannot be set once Node runs: the heap is sized when the isolate is made.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
