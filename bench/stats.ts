/** Order statistics shared by the micro-benchmarks (the load generator has its own in load/stats.ts). */

/** The lower median of `xs`; NaN for no samples. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
}

/** The p-quantile (0..1) of `xs` by index `floor(p * n)`; NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
}

/** A full collection when the process runs with `--expose-gc`; nothing otherwise. */
export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
