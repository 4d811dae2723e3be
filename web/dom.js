// Building DOM nodes without innerHTML: every value is set as text, so nothing from the API can inject markup.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function link(href, ...children) {
  return el('a', { href, 'data-link': true }, ...children);
}

export function table(headers, rows, empty = 'Nothing yet.') {
  if (!rows.length) return el('p', { class: 'muted' }, empty);
  return el('div', { class: 'table-wrap' },
    el('table', {},
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
      el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c, i) => el('td', { 'data-label': headers[i] }, c)))))));
}

export function section(title, ...children) {
  return el('section', { class: 'card' }, el('h2', {}, title), ...children);
}

export function badge(text, kind = '') {
  return el('span', { class: `badge ${kind}` }, text);
}

export function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  // Market time: every time is shown in New York, whatever the browser's zone.
  return `${date.toLocaleString('en-US', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })} ET`;
}

// Money as the statements show it (spreadpilot.money): half up to cents, on the decimal digits themselves, never
// through a binary float (98.765 is 98.77 here as in the PDF, where toFixed would say 98.76).
export function money(value) {
  if (value === undefined || value === null || value === '') return '—';
  const text = String(value).trim();
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[2] === '' && !match[3])) return text;
  const [, sign, whole, fraction = ''] = match;
  let cents = BigInt((whole || '0') + (fraction + '00').slice(0, 2));
  if ((fraction[2] || '0') >= '5') cents += 1n;
  const digits = cents.toString().padStart(3, '0');
  const shown = `${digits.slice(0, -2)}.${digits.slice(-2)}`;
  return cents === 0n || sign !== '-' ? shown : `-${shown}`;
}
