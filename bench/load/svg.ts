/**
 * The latency plot of the load report, as a self-contained SVG: round-trip latency (log
 * scale) against offered load, p50 solid and p99 dashed, one colour per server.
 */

export interface Series {
  label: string;
  color: string;
  points: { x: number; p50: number; p99: number }[];
}

const W = 760;
const H = 420;
const M = { left: 84, right: 200, top: 40, bottom: 56 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function latencyPlot(title: string, series: readonly Series[]): string {
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.p50, p.p99])).filter((y) => Number.isFinite(y) && y > 0);
  const xMax = Math.max(1, ...xs) * 1.05;
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys, 0.1)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys, 1)));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + (x / xMax) * pw;
  const sy = (y: number) => M.top + ph - ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${M.left}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`);
  for (let d = Math.log10(yMin); d <= Math.log10(yMax) + 1e-9; d++) {
    const y = sy(10 ** d);
    out.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + pw}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 8}" y="${y + 4}" text-anchor="end">${10 ** d >= 1 ? 10 ** d : (10 ** d).toFixed(-d)} ms</text>`);
  }
  const step = niceStep(xMax / 6);
  for (let x = 0; x <= xMax; x += step) {
    out.push(`<line x1="${sx(x)}" y1="${M.top}" x2="${sx(x)}" y2="${M.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${sx(x)}" y="${M.top + ph + 18}" text-anchor="middle">${x.toLocaleString('en-US')}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">offered load, events per second (all users together)</text>`);
  out.push(`<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">round trip, event sent → reply received</text>`);
  series.forEach((s, i) => {
    for (const [key, dash] of [['p50', ''], ['p99', ' stroke-dasharray="6 4"']] as const) {
      const pts = s.points.filter((p) => Number.isFinite(p[key]));
      if (pts.length === 0) continue;
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p[key]).toFixed(1)}`).join(' ')}"/>`);
      for (const p of pts) out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p[key]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    const ly = M.top + 16 + i * 40;
    const lx = M.left + pw + 14;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${esc(s.label)} p50</text>`);
    out.push(`<line x1="${lx}" y1="${ly + 16}" x2="${lx + 24}" y2="${ly + 16}" stroke="${s.color}" stroke-width="2" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 20}">${esc(s.label)} p99</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
