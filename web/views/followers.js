// Followers: list, add, edit, enable/disable, pause/resume entries, close. Credentials are write-only.

import { get, patch, post } from '../api.js';
import { badge, el, link, money, section, table, when } from '../dom.js';

const FIELDS = [
  ['name', 'Name', 'text'], ['email', 'Email', 'email'], ['iban', 'IBAN', 'text'],
  ['commission_pct', 'Commission %', 'number'], ['gateway_id', 'Gateway id', 'text'],
  ['ibkr_account', 'IBKR account', 'text'], ['multiplier', 'Multiplier', 'number'],
  ['max_contracts', 'Max contracts', 'number'], ['daily_loss_limit', 'Daily loss limit (USD)', 'number'],
];
const INTEGER = new Set(['max_contracts']);

function input(name, label, type, value = '', extra = {}) {
  return el('label', {}, label,
    el('input', { name, id: `f-${name}`, type, value, step: type === 'number' ? 'any' : undefined, ...extra }));
}

function showProblems(box, error) {
  box.replaceChildren(el('p', { class: 'error' }, error.message),
    error.problems && error.problems.length
      ? el('ul', { class: 'error' }, error.problems.map((p) => el('li', {}, `${p.where}: ${p.message}`))) : null);
  for (const p of error.problems || []) {
    const field = document.getElementById(`f-${p.where.replace(/^body\./, '')}`);
    if (field) field.setAttribute('aria-invalid', 'true');
  }
}

function collect(form, { skipEmpty }) {
  const body = {};
  for (const [name, value] of new FormData(form).entries()) {
    if (value === '' && skipEmpty) continue;
    if (name === 'enabled') continue;
    body[name] = INTEGER.has(name) ? Number(value) : value;
  }
  return body;
}

function stateBadges(f) {
  return [badge(f.enabled ? 'enabled' : 'disabled', f.enabled ? 'good' : 'bad'),
    f.entries_paused ? badge('entries paused', 'warn') : null];
}

async function control(ctx, kind, scope) {
  const result = await post(`/controls/${kind}`, { scope });
  ctx.flash(`${kind} sent for ${scope} (command ${result.command_id})`);
}

export async function list(ctx) {
  const { followers } = await get('/followers');
  const rows = followers.map((f) => [
    link(`/followers/${encodeURIComponent(f.id)}`, f.id), f.name, `${f.gateway_id} / ${f.ibkr_account}`,
    `${f.multiplier}× ≤ ${f.max_contracts}`, `${f.commission_pct}%`, stateBadges(f),
    el('span', { class: 'actions' },
      el('button', { class: 'small', 'data-action': 'toggle', 'data-follower': f.id, disabled: !ctx.me.can_change,
        onclick: async () => {
          await post(`/followers/${encodeURIComponent(f.id)}/${f.enabled ? 'disable' : 'enable'}`);
          ctx.flash(`${f.id} ${f.enabled ? 'disabled' : 'enabled'}`);
          ctx.rerender();
        } }, f.enabled ? 'Disable' : 'Enable'),
      el('button', { class: 'small', 'data-action': 'pause', 'data-follower': f.id, disabled: !ctx.me.can_change,
        onclick: () => control(ctx, 'pause', f.id) }, 'Pause entries'),
      el('button', { class: 'small', 'data-action': 'resume', 'data-follower': f.id, disabled: !ctx.me.can_change,
        onclick: () => control(ctx, 'resume', f.id) }, 'Resume')),
  ]);
  return el('div', {},
    el('div', { class: 'title-row' }, el('h1', {}, 'Followers'),
      ctx.me.can_change ? link('/followers/new', el('span', { class: 'button primary' }, 'Add follower')) : null),
    section(`${followers.length} followers`,
      table(['Id', 'Name', 'Gateway / account', 'Sizing', 'Commission', 'State', ''], rows)));
}

export async function create(ctx) {
  const problems = el('div', { id: 'form-problems' });
  const form = el('form', { class: 'card form', id: 'follower-form', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const body = collect(form, { skipEmpty: true });
      const created = await post('/followers', body);
      ctx.flash(`Follower ${created.id} created`);
      ctx.navigate(`/followers/${encodeURIComponent(created.id)}`);
    } catch (e) { showProblems(problems, e); }
  } },
  input('id', 'Follower id', 'text', '', { required: true, pattern: '[A-Za-z0-9][A-Za-z0-9_\\-]{0,63}' }),
  FIELDS.map(([name, label, type]) => input(name, label, type,
    { multiplier: '1', max_contracts: '10', daily_loss_limit: '2000' }[name] || '')),
  el('fieldset', {}, el('legend', {}, 'IBKR login (stored in Secret Manager only)'),
    input('ibkr_username', 'Username', 'text', '', { autocomplete: 'off' }),
    input('ibkr_password', 'Password', 'password', '', { autocomplete: 'new-password' })),
  el('button', { type: 'submit', class: 'primary' }, 'Create follower'), problems);
  return el('div', {}, el('h1', {}, 'Add follower'), form);
}

export async function detail(ctx, id) {
  const path = `/followers/${encodeURIComponent(id)}`;
  const [f, orders, positions] = await Promise.all([get(path), get(`/orders?follower_id=${encodeURIComponent(id)}`),
    get(`/positions?follower_id=${encodeURIComponent(id)}`)]);
  const problems = el('div', { id: 'form-problems' });
  const form = el('form', { class: 'card form', id: 'follower-form', onsubmit: async (event) => {
    event.preventDefault();
    const body = collect(form, { skipEmpty: true });
    try {
      await patch(path, body);
      ctx.flash(`Follower ${id} saved`);
      ctx.rerender();
    } catch (e) { showProblems(problems, e); }
  } },
  FIELDS.map(([name, label, type]) => (name === 'iban'
    ? input('iban', `IBAN (now ${f.iban_masked}; leave empty to keep)`, 'text')
    : input(name, label, type, f[name] ?? ''))),
  el('fieldset', {}, el('legend', {}, `IBKR login ${f.has_ibkr_credentials ? '(stored; enter both to replace)' : '(none stored)'}`),
    input('ibkr_username', 'Username', 'text', '', { autocomplete: 'off' }),
    input('ibkr_password', 'Password', 'password', '', { autocomplete: 'new-password' })),
  el('button', { type: 'submit', class: 'primary', disabled: !ctx.me.can_change }, 'Save'), problems);
  const act = (label, fn, attrs = {}) => el('button', { disabled: !ctx.me.can_change, ...attrs,
    onclick: async () => { try { await fn(); } catch (e) { ctx.flash(e.message, 'bad'); } } }, label);
  const actions = el('div', { class: 'actions' },
    act(f.enabled ? 'Disable' : 'Enable', async () => {
      await post(`${path}/${f.enabled ? 'disable' : 'enable'}`);
      ctx.flash(`${id} ${f.enabled ? 'disabled' : 'enabled'}`);
      ctx.rerender();
    }, { 'data-action': 'toggle' }),
    act('Pause entries', () => control(ctx, 'pause', id), { 'data-action': 'pause' }),
    act('Resume entries', () => control(ctx, 'resume', id), { 'data-action': 'resume' }),
    act('Close positions…', async () => {
      if (!window.confirm(`Close every position of ${id} now?`)) return;
      const result = await post(`${path}/close`, { reason: 'closed from the web app' });
      ctx.flash(`close_follower sent (command ${result.command_id})`);
    }, { class: 'danger', 'data-action': 'close' }));
  return el('div', {},
    el('h1', {}, `${f.name} (${f.id})`), el('p', {}, stateBadges(f), ` created ${when(f.created_at)}`), actions, form,
    section('Orders', table(['Intent', 'Kind', 'State', 'Filled', 'Avg credit', 'Reason'], orders.orders.map((o) => [
      link(`/orders/${encodeURIComponent(o.intent_id)}`, o.intent_id), o.kind, o.state,
      `${o.filled_qty}/${o.contracts}`, money(o.avg_price), o.reason || '']))),
    section('Positions', table(['Signal', 'Legs', 'Assignment', 'Updated'], positions.positions.map((p) => [
      p.signal_id || '—', (p.legs || []).map((l) => `${l.qty} ${l.right || l.sec_type} ${l.strike || ''}`).join(', '),
      p.assignment, when(p.updated_at)]))));
}
