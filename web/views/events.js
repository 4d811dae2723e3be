// The event console, live: what every part of the system did, newest first, filtered by severity, follower,
// signal, kind or alert; each line links to its signal, follower, order and to Cloud Logging for the same ids.

import { loadConfig } from '../api.js';
import { badge, el, link, section, table, when } from '../dom.js';
import { collection, limit, orderBy, query, watchQuery, where } from '../live.js';

const FILTERS = [['severity', 'Severity'], ['follower_id', 'Follower'], ['signal_id', 'Signal'], ['kind', 'Kind'],
  ['alert_id', 'Alert']];
// One filter goes to Firestore (each has its index with `at`), the most selective one; the others are applied to
// the answer here, so any combination works without an index per combination.
const SELECTIVE = ['signal_id', 'alert_id', 'follower_id', 'kind', 'severity'];
const LIMIT = 300;

export function filtersFrom(search) {
  const params = new URLSearchParams(search);
  return Object.fromEntries(FILTERS.map(([key]) => [key, (params.get(key) || '').trim()]).filter(([, v]) => v));
}

export function matches(event, filters) {
  return Object.entries(filters).every(([key, value]) => (key === 'kind'
    ? String(event.kind || '').startsWith(value) : String(event[key] || '') === value));
}

// Cloud Logging's query for the same ids (the functions and the executor log them as structured fields).
export function loggingUrl(projectId, ids) {
  const terms = Object.entries(ids).filter(([, v]) => v).map(([k, v]) => `jsonPayload.${k}="${v}"`);
  const text = terms.length ? terms.join(' OR ') : 'severity>=DEFAULT';
  return `https://console.cloud.google.com/logs/query;query=${encodeURIComponent(text)}?project=${encodeURIComponent(projectId)}`;
}

function row(e, projectId) {
  const ids = { signal_id: e.signal_id, follower_id: e.follower_id, order_ref: e.order_ref,
    command_id: e.command_id, alert_id: e.alert_id };
  return [when(e.at), badge(e.severity || 'INFO', e.severity === 'CRITICAL' ? 'bad' : e.severity === 'WARNING'
    ? 'warn' : ''), el('code', { 'data-kind': e.kind }, e.kind), e.source,
  el('span', {}, e.message,
    e.signal_id ? [' ', link(`/signals/${encodeURIComponent(e.signal_id)}`, 'signal')] : null,
    e.follower_id ? [' ', link(`/followers/${encodeURIComponent(e.follower_id)}`, e.follower_id)] : null,
    e.order_ref ? [' ', link(`/orders/${encodeURIComponent(e.order_ref)}`, 'order')] : null,
    e.actor ? el('span', { class: 'muted' }, ` by ${e.actor}`) : null),
  el('a', { href: loggingUrl(projectId, ids), target: '_blank', rel: 'noopener', class: 'small' }, 'logs')];
}

export async function eventConsole(ctx) {
  const config = await loadConfig();
  const projectId = (config.firebase && config.firebase.projectId) || '';
  const filters = filtersFrom(location.search);
  const server = SELECTIVE.find((key) => filters[key] && key !== 'kind');
  const list = el('div', { id: 'event-list' }, el('p', { class: 'muted' }, 'Loading…'));
  const form = el('form', { class: 'inline', id: 'event-filters', onsubmit: (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const [key, value] of new FormData(form).entries()) if (String(value).trim()) chosen.set(key, value.trim());
    ctx.navigate(`/events${chosen.toString() ? `?${chosen}` : ''}`);
  } },
  FILTERS.map(([key, label]) => (key === 'severity'
    ? el('select', { name: key, id: `filter-${key}`, 'aria-label': label },
      ['', 'INFO', 'WARNING', 'CRITICAL'].map((s) => el('option', { value: s, selected: filters[key] === s },
        s || 'any severity')))
    : el('input', { name: key, id: `filter-${key}`, placeholder: label, value: filters[key] || '',
      'aria-label': label }))),
  el('button', { type: 'submit' }, 'Filter'), link('/events', 'clear'));
  const chronological = Boolean(filters.signal_id);  // a signal's timeline reads best in the order it happened
  watchQuery((db) => query(collection(db, 'events'), ...(server ? [where(server, '==', filters[server])] : []),
    orderBy('at', 'desc'), limit(LIMIT)), (rows) => {
    const shown = rows.filter((e) => matches(e, filters));
    if (chronological) shown.reverse();
    list.replaceChildren(table(['When', 'Severity', 'Kind', 'From', 'What', ''], shown.map((e) => row(e, projectId)),
      'No events match.'));
  }, (error) => list.replaceChildren(el('p', { class: 'error' }, `The event stream is unavailable: ${error.message}`)));
  const ids = { signal_id: filters.signal_id, follower_id: filters.follower_id, alert_id: filters.alert_id };
  return el('div', {}, el('h1', {}, 'Events'), form,
    el('p', {}, el('a', { href: loggingUrl(projectId, ids), target: '_blank', rel: 'noopener', id: 'logging-link' },
      'Open the same ids in Cloud Logging')),
    section(chronological ? `Timeline of ${filters.signal_id}` : 'Newest first', list));
}
