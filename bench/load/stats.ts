/** Order statistics and small formatting helpers for the load report. */

/** The p-quantile (0..1) of `xs`, nearest rank; NaN for no samples. */
export function quantile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
}

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(xs: readonly number[]): Summary {
  let max = Number.NaN;
  for (const x of xs) if (!(x <= max)) max = x;
  return { n: xs.length, p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max };
}

/** Least-squares slope and intercept of y over x. */
export function linearFit(points: readonly { x: number; y: number }[]): { slope: number; intercept: number } {
  const n = points.length;
  if (n < 2) return { slope: Number.NaN, intercept: Number.NaN };
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const { x, y } of points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return { slope, intercept: (sy - slope * sx) / n };
}

/** A number with at most `digits` significant digits and thousands separators. */
export function fmt(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

export const KB = 1024;
export const MB = 1024 * 1024;
