// Gateways: the IB Gateways the VM runs, each with its state from the VM's supervisor (starting, waiting for 2FA,
// logged in, failed), its followers and the VMs' capacity; add one with its login (write-only: it goes to Secret
// Manager), change its accounts, mode or login, remove it. The state is polled from the API every few seconds (the
// browser may not read gateways/ from Firestore).

import { get, patch, post } from '../api.js';
import { badge, el, link, section, table, when } from '../dom.js';

const POLL_MS = 4000;
const STATE_KIND = { logged_in: 'good', waiting_for_2fa: 'warn', starting: '', failed: 'bad', stopped: 'bad' };
const STATE_TEXT = { logged_in: 'logged in', waiting_for_2fa: 'waiting for 2FA', starting: 'starting', failed: 'failed',
  stopped: 'stopped' };

function stateBadge(g) {
  if (!g.vm) return badge('started by hand', '');
  const state = g.status ? g.status.state : 'starting';
  return badge(STATE_TEXT[state] || state, STATE_KIND[state] || '');
}

function twoFactorBanner(g) {
  if (!g.status || g.status.state !== 'waiting_for_2fa') return null;
  const who = g.kind === 'follower' ? `the follower (${(g.followers || []).join(', ') || 'its owner'})` : 'the advisor';
  return el('p', { class: 'flash warn', 'data-2fa': g.id },
    `${g.id} waits for its 2FA since ${when(g.status.since)}: ${who} must approve the notification on IBKR Mobile. `,
    'Entries on this gateway wait until it is logged in; this clears by itself.');
}

// Redraw ``node`` from ``load`` every few seconds while it is on the page.
function poll(node, load) {
  const timer = setInterval(async () => {
    if (!document.body.contains(node)) { clearInterval(timer); return; }
    try { await load(); } catch (e) { /* the next tick tries again; a 401 signs out through api.js */ }
  }, POLL_MS);
}

function problemsBox(box, error) {
  box.replaceChildren(el('p', { class: 'error' }, error.message),
    error.problems && error.problems.length
      ? el('ul', { class: 'error' }, error.problems.map((p) => el('li', {}, `${p.where}: ${p.message}`))) : null);
}

function field(name, label, type = 'text', extra = {}) {
  return el('label', {}, label, el('input', { name, id: `g-${name}`, type, ...extra }));
}

function accountsOf(text) {
  return text.split(/[\s,]+/).map((a) => a.trim().toUpperCase()).filter(Boolean);
}

export async function list(ctx) {
  const body = el('div', { id: 'gateways' });
  const draw = async () => {
    const { gateways, vms } = await get('/gateways');
    body.replaceChildren(
      ...gateways.map(twoFactorBanner).filter(Boolean),
      section(`${gateways.length} gateways`, table(['Id', 'Kind', 'Accounts', 'State', 'Detail', 'Followers', 'VM', 'Port'],
        gateways.map((g) => [link(`/gateways/${encodeURIComponent(g.id)}`, g.id), g.kind, g.accounts.join(', ') || 'any',
          el('span', { 'data-state': g.id }, stateBadge(g)), (g.status && g.status.detail) || '',
          (g.followers || []).join(', '), g.vm || '—', g.port]), 'No gateway yet: add one.')),
      section('Gateway VMs', table(['VM', 'Gateways', 'Capacity', 'Memory', 'Reported'], vms.map((v) => [
        v.name, `${v.running.length}`, el('span', { 'data-capacity': v.name },
          `${gateways.filter((g) => g.vm === v.name).length} of ${v.capacity}`
          + (gateways.filter((g) => g.vm === v.name).length >= v.capacity ? ' (full)' : '')),
        `${Math.round(v.memory_mb / 1024)} GB`, when(v.at)]), 'No VM has reported yet.')));
  };
  await draw();
  poll(body, draw);
  return el('div', {},
    el('div', { class: 'title-row' }, el('h1', {}, 'Gateways'),
      ctx.me.can_change ? link('/gateways/new', el('span', { class: 'button primary' }, 'Add gateway')) : null),
    body);
}

export async function create(ctx) {
  const problems = el('div', { id: 'form-problems' });
  const kind = el('select', { name: 'kind', id: 'g-kind' },
    el('option', { value: 'advisor' }, 'advisor: one login serving many accounts'),
    el('option', { value: 'follower' }, "follower: one follower's own login and account"));
  const mode = el('select', { name: 'mode', id: 'g-mode' }, el('option', { value: 'paper' }, 'paper'),
    el('option', { value: 'live' }, 'live'));
  const form = el('form', { class: 'card form', id: 'gateway-form', onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const created = await post('/gateways', { id: data.get('id'), kind: data.get('kind'), mode: data.get('mode'),
        accounts: accountsOf(String(data.get('accounts') || '')), username: data.get('username'),
        password: data.get('password') });
      form.reset();
      ctx.flash(`Gateway ${created.id} added on ${created.vm}; its container is starting`);
      ctx.navigate(`/gateways/${encodeURIComponent(created.id)}`);
    } catch (e) { problemsBox(problems, e); }
  } },
  field('id', 'Gateway id (lower-case letters, digits, -)', 'text', { required: true, pattern: '[a-z][a-z0-9\\-]{0,30}' }),
  el('label', {}, 'Kind', kind), el('label', {}, 'Trading mode', mode),
  field('accounts', 'IBKR accounts it serves (comma-separated)', 'text', { required: true }),
  el('fieldset', {}, el('legend', {}, 'IBKR login (goes to Secret Manager only; never shown again)'),
    field('username', 'Username', 'text', { autocomplete: 'off', required: true }),
    field('password', 'Password', 'password', { autocomplete: 'new-password', required: true })),
  el('button', { type: 'submit', class: 'primary' }, 'Add gateway'), problems);
  return el('div', {}, el('h1', {}, 'Add gateway'), form);
}

export async function detail(ctx, id) {
  const path = `/gateways/${encodeURIComponent(id)}`;
  const head = el('div', { id: 'gateway-state' });
  const draw = async () => {
    const g = await get(path);
    head.replaceChildren(twoFactorBanner(g) || '', el('p', {}, stateBadge(g), ' ',
      el('span', { id: 'gateway-detail' }, (g.status && g.status.detail) || ''),
      g.status ? el('span', { class: 'muted' }, ` checked ${when(g.status.checked_at)}`) : ''),
    el('p', {}, `${g.kind} login, ${g.mode}, on ${g.vm || 'no VM (started by hand)'} port ${g.port}; followers: `,
      (g.followers || []).length ? g.followers.map((f) => link(`/followers/${encodeURIComponent(f)}`, f, ' ')) : 'none'));
    return g;
  };
  const g = await draw();
  poll(head, draw);
  const problems = el('div', { id: 'form-problems' });
  const edit = el('form', { class: 'card form', id: 'gateway-edit', onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(edit);
    try {
      await patch(path, { accounts: accountsOf(String(data.get('accounts') || '')), mode: data.get('mode') });
      ctx.flash(`Gateway ${id} saved`);
      await draw();
    } catch (e) { problemsBox(problems, e); }
  } },
  field('accounts', 'Accounts it serves', 'text', { value: g.accounts.join(', ') }),
  el('label', {}, 'Trading mode', el('select', { name: 'mode', id: 'g-mode' },
    ['paper', 'live'].map((m) => el('option', { value: m, selected: m === g.mode }, m)))),
  el('button', { type: 'submit', class: 'primary', disabled: !ctx.me.can_change }, 'Save'), problems);
  const login = el('form', { class: 'card form', id: 'gateway-login', onsubmit: async (event) => {
    event.preventDefault();
    const data = new FormData(login);
    try {
      await post(`${path}/login`, { username: data.get('username'), password: data.get('password') });
      login.reset();
      ctx.flash(`New login stored for ${id}; its container restarts with it`);
    } catch (e) { problemsBox(problems, e); }
  } },
  el('h2', {}, `Login ${g.has_login ? '(stored; enter a new one to replace it)' : '(none)'}`),
  field('username', 'Username', 'text', { autocomplete: 'off', required: true }),
  field('password', 'Password', 'password', { autocomplete: 'new-password', required: true }),
  el('button', { type: 'submit', disabled: !ctx.me.can_change }, 'Replace login'));
  const remove = el('button', { class: 'danger', id: 'gateway-remove', disabled: !ctx.me.can_change, onclick: async () => {
    const stranded = (g.followers || []).length ? ` Followers ${g.followers.join(', ')} will have no gateway.` : '';
    if (!window.confirm(`Remove gateway ${id}? Its container stops and its login is deleted.${stranded}`)) return;
    try {
      const done = await post(`${path}/remove`);
      ctx.flash(`Gateway ${id} removed${done.followers_without_gateway.length
        ? `; followers without a gateway: ${done.followers_without_gateway.join(', ')}` : ''}`, 'warn');
      ctx.navigate('/gateways');
    } catch (e) { ctx.flash(e.message, 'bad'); }
  } }, 'Remove gateway');
  const restart = el('button', { id: 'gateway-restart', disabled: !ctx.me.can_change || !g.vm, onclick: async () => {
    if (!window.confirm(`Restart gateway ${id}? Its container restarts on the supervisor's next pass if its API still `
      + 'does not answer; open sessions drop, and a cold start asks for a 2FA.')) return;
    try {
      await post(`${path}/restart`);
      ctx.flash(`Restart of ${id} approved; the supervisor restarts it if it is still hung`, 'warn');
      await draw();
    } catch (e) { ctx.flash(e.message, 'bad'); }
  } }, 'Restart gateway');
  return el('div', {}, el('h1', {}, `Gateway ${id}`), head, el('div', { class: 'actions' }, restart, remove), edit,
    login);
}
