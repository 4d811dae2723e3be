// Followers: list, add, edit, enable/disable, pause/resume entries, close. A follower trades on an existing gateway
// (the IBKR login belongs to the gateway: see views/gateways.js) and one of the accounts it serves.
// The list and a follower's orders, fills, positions and P&L are live (follower_cards and the trading collections).

import { get, patch, post } from '../api.js';
import { badge, el, link, money, section, table, when } from '../dom.js';
import { collection, limit, newYorkToday, orderBy, query, watchDoc, watchQuery, where } from '../live.js';
import { stateKind } from './dashboard.js';

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

function listRows(ctx, followers, paused) {
  return followers.map((f) => [
    link(`/followers/${encodeURIComponent(f.id)}`, f.id), f.name, `${f.gateway_id} / ${f.ibkr_account}`,
    `${f.multiplier}× ≤ ${f.max_contracts}`, `${f.commission_pct}%`, stateBadges({ ...f, entries_paused: paused.has(f.id) }),
    el('span', { class: 'actions' },
      el('button', { class: 'small', 'data-action': 'toggle', 'data-follower': f.id, disabled: !ctx.me.can_change,
        onclick: async () => {
          try {
            await post(`/followers/${encodeURIComponent(f.id)}/${f.enabled ? 'disable' : 'enable'}`);
            ctx.flash(`${f.id} ${f.enabled ? 'disabled' : 'enabled'}`);
          } catch (e) { ctx.flash(e.message, 'bad'); }
        } }, f.enabled ? 'Disable' : 'Enable'),
      el('button', { class: 'small', 'data-action': 'pause', 'data-follower': f.id, disabled: !ctx.me.can_change,
        onclick: () => control(ctx, 'pause', f.id) }, 'Pause entries'),
      el('button', { class: 'small', 'data-action': 'resume', 'data-follower': f.id, disabled: !ctx.me.can_change,
        onclick: () => control(ctx, 'resume', f.id) }, 'Resume')),
  ]);
}

export async function list(ctx) {
  const box = section('Followers', el('p', { class: 'muted' }, 'Loading…'));
  const state = { cards: null, paused: new Set() };
  const draw = () => {
    if (!state.cards) return;
    const rows = [...state.cards].sort((a, b) => (a.id < b.id ? -1 : 1));
    box.replaceChildren(el('h2', { id: 'follower-total' }, `${rows.length} followers`),
      table(['Id', 'Name', 'Gateway / account', 'Sizing', 'Commission', 'State', ''], listRows(ctx, rows, state.paused)));
  };
  watchQuery((db) => collection(db, 'follower_cards'), (rows) => { state.cards = rows; draw(); });
  watchQuery((db) => collection(db, 'controls'), (rows) => {
    state.paused = new Set(rows.filter((c) => c.entries_paused && c.id !== 'global').map((c) => c.id));
    draw();
  });
  return el('div', {},
    el('div', { class: 'title-row' }, el('h1', {}, 'Followers'),
      ctx.me.can_change ? link('/followers/new', el('span', { class: 'button primary' }, 'Add follower')) : null),
    box);
}

// The gateways a follower may pick, offered on the gateway field (the API refuses any other).
async function gatewayChoices() {
  const { gateways } = await get('/gateways');
  return el('datalist', { id: 'gateway-ids' }, gateways.map((g) => el('option', { value: g.id },
    `${g.id} (${g.kind}${g.accounts.length ? `: ${g.accounts.join(', ')}` : ''})`)));
}

export async function create(ctx) {
  const problems = el('div', { id: 'form-problems' });
  const choices = await gatewayChoices();
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
    { multiplier: '1', max_contracts: '10', daily_loss_limit: '2000' }[name] || '',
    name === 'gateway_id' ? { list: 'gateway-ids', required: true } : {})),
  choices,
  el('p', { class: 'muted' }, 'The IBKR login belongs to the gateway: add a follower\'s own login under ',
    link('/gateways/new', 'Gateways'), ' first.'),
  el('button', { type: 'submit', class: 'primary' }, 'Create follower'), problems);
  return el('div', {}, el('h1', {}, 'Add follower'), form);
}

function ordersTable(orders) {
  return table(['Intent', 'Kind', 'State', 'Filled', 'Avg credit', 'Updated', 'Reason'], orders.map((o) => [
    link(`/orders/${encodeURIComponent(o.id)}`, o.id), o.kind, badge(o.state, stateKind(o.state)),
    el('span', { 'data-filled': o.id }, `${o.filled_qty}/${o.contracts}`), money(o.avg_price), when(o.updated_at),
    o.reason || '']));
}

function fillsTable(fills) {
  return table(['When', 'Exec id', 'Leg', 'Side', 'Qty', 'Price', 'Commission'], fills.map((f) => [
    when(f.at), el('code', { 'data-exec': f.exec_id || f.id }, f.exec_id || f.id),
    `${f.right || f.sec_type || ''} ${f.strike ?? ''}`, f.side, f.qty, money(f.price), money(f.commission)]),
  'No fills today.');
}

function positionsTable(positions) {
  return table(['Signal', 'Legs', 'Assignment', 'Updated'], positions.map((p) => [
    p.signal_id || '—', (p.legs || []).map((l) => `${l.qty} ${l.right || l.sec_type} ${l.strike || ''}`).join(', '),
    p.assignment, when(p.updated_at)]));
}

export async function detail(ctx, id) {
  const path = `/followers/${encodeURIComponent(id)}`;
  const f = await get(path);
  const { startIso } = newYorkToday();
  const problems = el('div', { id: 'form-problems' });
  const form = el('form', { class: 'card form', id: 'follower-form', onsubmit: async (event) => {
    event.preventDefault();
    const body = collect(form, { skipEmpty: true });
    try {
      await patch(path, body);
      ctx.flash(`Follower ${id} saved`);
    } catch (e) { showProblems(problems, e); }
  } },
  FIELDS.map(([name, label, type]) => (name === 'iban'
    ? input('iban', `IBAN (now ${f.iban_masked}; leave empty to keep)`, 'text')
    : input(name, label, type, f[name] ?? ''))),
  el('p', { class: 'muted' }, 'Its IBKR login is its gateway\'s: ',
    link(`/gateways/${encodeURIComponent(f.gateway_id)}`, f.gateway_id), '.'),
  el('button', { type: 'submit', class: 'primary', disabled: !ctx.me.can_change }, 'Save'), problems);
  const act = (label, fn, attrs = {}) => el('button', { disabled: !ctx.me.can_change, ...attrs,
    onclick: async () => { try { await fn(); } catch (e) { ctx.flash(e.message, 'bad'); } } }, label);
  const state = { card: f, paused: f.entries_paused };
  const header = el('div', { id: 'follower-state' });
  const toggle = act('Enable', async () => {
    const enabled = state.card.enabled;
    await post(`${path}/${enabled ? 'disable' : 'enable'}`);
    ctx.flash(`${id} ${enabled ? 'disabled' : 'enabled'}`);
  }, { 'data-action': 'toggle' });
  const drawHeader = () => {
    header.replaceChildren(stateBadges({ ...state.card, entries_paused: state.paused }),
      ` created ${when(state.card.created_at)} · `, link(`/events?follower_id=${encodeURIComponent(id)}`, 'timeline'));
    toggle.textContent = state.card.enabled ? 'Disable' : 'Enable';
  };
  drawHeader();
  const actions = el('div', { class: 'actions' }, toggle,
    act('Pause entries', () => control(ctx, 'pause', id), { 'data-action': 'pause' }),
    act('Resume entries', () => control(ctx, 'resume', id), { 'data-action': 'resume' }),
    act('Close positions…', () => ctx.confirmAction(`${path}/close`, { reason: 'closed from the web app' },
      `Close every position of ${id}`), { class: 'danger', 'data-action': 'close' }));
  const ordersBox = el('div', { id: 'follower-orders' });
  const fillsBox = el('div', { id: 'follower-fills' });
  const positionsBox = el('div', { id: 'follower-positions' });
  const mtmBox = el('p', { id: 'follower-mtm', class: 'muted' }, 'No mark-to-market yet today.');
  watchDoc(`follower_cards/${id}`, (card) => { if (card) { state.card = card; drawHeader(); } });
  watchDoc(`controls/${id}`, (control) => { state.paused = Boolean(control && control.entries_paused); drawHeader(); });
  watchQuery((db) => query(collection(db, 'orders'), where('follower_id', '==', id), orderBy('created_at', 'desc'),
    limit(20)), (rows) => ordersBox.replaceChildren(ordersTable(rows)));
  watchQuery((db) => query(collection(db, 'fills'), where('follower_id', '==', id), where('at', '>=', startIso)),
    (rows) => fillsBox.replaceChildren(fillsTable(rows.sort((a, b) => (String(a.at) < String(b.at) ? 1 : -1)))));
  watchQuery((db) => query(collection(db, 'positions'), where('follower_id', '==', id)),
    (rows) => positionsBox.replaceChildren(positionsTable(rows.sort((a, b) =>
      (String(a.updated_at) < String(b.updated_at) ? 1 : -1)).slice(0, 10))));
  watchQuery((db) => query(collection(db, 'pnl_snapshots'), where('follower_id', '==', id), orderBy('at', 'desc'),
    limit(1)), ([s]) => {
    if (s && String(s.at) >= startIso) {
      mtmBox.replaceChildren(`Today ${money(s.daily_pnl)} (unrealised ${money(s.unrealized_pnl)}, realised `,
        `${money(s.realized_pnl)}) at ${when(s.at)}`);
    }
  });
  return el('div', {},
    el('h1', {}, `${f.name} (${f.id})`), header, actions,
    section("Today's P&L", mtmBox), section('Orders', ordersBox), section('Fills today', fillsBox),
    section('Positions', positionsBox), form);
}
