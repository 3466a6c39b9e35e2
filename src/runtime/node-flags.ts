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
 *
 * --no-parallel-scavenge: with a 1 MiB nursery a scavenge is short, and
 * splitting each one across V8's helper threads costs more in wake-ups than
 * it saves, on a box where those threads take the core a DHCP client or a
 * TFTP lane needs. DHCP at 16,000 exchanges/s, three alternating rounds:
 * lost 0.51-0.88% against 0.87-1.34%, helper-thread CPU 12-15% of a core
 * against 15-20%; a 50-client TFTP storm finished in 11.7-11.9 s against
 * 12.1-12.4 s, with less CPU and the same RSS.
 *
 * Each A/B above is the benchmark run with BENCH_NODE_FLAGS (below) set to
 * the flags without the one measured, alternated with a run without it.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--no-parallel-scavenge'];

/**
 * The flags a benchmark starts netboot with: NODE_FLAGS, unless
 * BENCH_NODE_FLAGS is set (space-separated, empty for none) to compare
 * flags side by side, as the figures above were measured.
 */
export function benchNodeFlags(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const override = env.BENCH_NODE_FLAGS;
  return override === undefined ? NODE_FLAGS : override.split(/\s+/).filter((flag) => flag !== '');
}
