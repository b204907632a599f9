// V8 heap settings a running server switches to once it is ready (main.ts). The bin sets the
// ones that matter while the modules load (bin/atelier.mjs); measurements in bench/RESULTS.md.
//
// - Young generation: the bin held it at its initial size during start; from ready on it
//   grows under load as V8's default lets it.
// - Old generation headroom: after each full GC, V8 lets the old generation grow to its live
//   size times a factor it derives from GC and mutator speed; on an idle-sized server heap
//   (≈ 37 MB live) that was ×1.27, ≈ 10 MB. V8 also counts the ArrayBuffer memory allocated
//   since the last full GC against that headroom, and an image upload allocates ≈ 9 MB of it
//   (the request's chunks, the joined file, the encoded image). So almost every upload
//   started a full mark-compact (30–50 ms of CPU on the main thread plus V8's marking
//   threads) while libvips worked on the image, and on 2 cores that made the image work
//   10–35 % slower than the same call in a quiet process. A fixed factor of 2 (V8's own
//   factor ranges from 1.1 to 4) leaves room for several uploads between full GCs.

/** The old generation may grow to twice its live size after a full GC (`--heap-growing-percent`). */
export const HEAP_GROWING_PERCENT = 100;

/**
 * The V8 flags to set once the server is ready. `own` is the process's own node options
 * (execArgv and NODE_OPTIONS): a setting the user passed is theirs and is left alone.
 * `youngGenerationHeld` says the bin held the young generation during start.
 */
export function heapFlagsWhenReady(own: string, youngGenerationHeld: boolean): string[] {
  const flags: string[] = [];
  if (youngGenerationHeld) flags.push('--semi-space-growth-factor=2');
  if (!/heap[-_]growing[-_]percent/.test(own)) {
    flags.push(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  }
  return flags;
}
