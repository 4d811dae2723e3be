// An inline SVG chart of daily P&L: bars per day (green/red) and the cumulative line. No external library.

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

export function pnlChart(points, { width = 640, height = 240 } = {}) {
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img',
    'aria-label': 'Daily P&L and cumulative P&L' });
  if (!points.length) return root;
  const pad = { left: 48, right: 12, top: 12, bottom: 28 };
  let running = 0;
  const cumulative = points.map((p) => (running += p.value));
  const values = [...points.map((p) => p.value), ...cumulative, 0];
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const y = (v) => pad.top + ((max - v) / span) * (height - pad.top - pad.bottom);
  const step = (width - pad.left - pad.right) / points.length;
  const x = (i) => pad.left + i * step;
  root.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0), class: 'axis' }));
  for (const [label, v] of [[max, max], [min, min]]) {
    const text = svg('text', { x: 4, y: y(v) + 4, class: 'tick' });
    text.textContent = label.toFixed(0);
    root.append(text);
  }
  points.forEach((p, i) => {
    const top = Math.min(y(p.value), y(0));
    const bar = svg('rect', { x: x(i) + step * 0.15, y: top, width: step * 0.7,
      height: Math.max(1, Math.abs(y(p.value) - y(0))), class: p.value >= 0 ? 'gain' : 'loss' });
    const title = svg('title');
    title.textContent = `${p.label}: ${p.value.toFixed(2)}`;
    bar.append(title);
    root.append(bar);
  });
  const path = cumulative.map((v, i) => `${i ? 'L' : 'M'}${(x(i) + step / 2).toFixed(1)},${y(v).toFixed(1)}`);
  root.append(svg('path', { d: path.join(' '), class: 'cumulative' }));
  const first = svg('text', { x: pad.left, y: height - 8, class: 'tick' });
  first.textContent = points[0].label;
  const last = svg('text', { x: width - pad.right, y: height - 8, class: 'tick', 'text-anchor': 'end' });
  last.textContent = points[points.length - 1].label;
  root.append(first, last);
  return root;
}

// Daily rows of many followers → one point per day (sum of realized P&L net of commissions, else closing MTM).
export function dailyPoints(rows) {
  const byDay = new Map();
  for (const row of rows) {
    const value = Number(row.realized_pnl ?? row.closing_mtm ?? 0) - Number(row.commissions ?? 0);
    byDay.set(row.date, (byDay.get(row.date) || 0) + (Number.isFinite(value) ? value : 0));
  }
  return [...byDay.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([label, value]) => ({ label, value }));
}
