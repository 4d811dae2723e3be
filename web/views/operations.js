// Alerts, controls (with confirmation and the live outcome of every operator action), statements, the audit log.

import { fileUrl, get, post } from '../api.js';
import { badge, el, money, section, table, when } from '../dom.js';
import { collection, limit, orderBy, query, watchQuery } from '../live.js';
import { alertRows } from './dashboard.js';

export async function alerts(ctx) {
  const root = el('div', { id: 'alert-list' }, el('p', { class: 'muted' }, 'Loading…'));
  watchQuery((db) => query(collection(db, 'alerts'), orderBy('at', 'desc'), limit(200)),
    (rows) => root.replaceChildren(alertRows(rows, ctx)));
  return el('div', {}, el('h1', {}, 'Alerts'), section('Latest alerts', root));
}

function switches(view) {
  const rows = Object.entries(view.followers).map(([id, s]) => [id, s.entries_paused ? badge('paused', 'warn') : 'running',
    s.flatten ? badge('flatten', 'bad') : '', when(s.updated_at || s.at)]);
  return [el('p', { id: 'global-switch' }, 'Global entries: ',
    view.global.entries_paused ? badge('paused', 'warn') : badge('running', 'good')),
  table(['Follower', 'Entries', 'Flatten', 'Changed'], rows, 'No per-follower switch set.')];
}

const ACTION_STATE = { in_progress: 'warn', done: 'good', partly_done: 'bad', failed: 'bad' };

// What each operator action (and the breaker) came to: live, newest first; the parts handed to another executor
// are shown inside their action, not as actions of their own.
export function actionRows(rows) {
  const progress = (a) => {
    const parts = a.parts || [];
    const left = parts.filter((p) => p.state !== 'done').map((p) => `${p.key}${p.note ? `: ${p.note}` : ''}`);
    return `${parts.length - left.length} of ${parts.length} part(s) done${left.length ? `; ${left.join('; ')}` : ''}`;
  };
  return table(['Started', 'Action', 'Scope', 'By', 'State', 'What happened'], rows.filter((a) => !a.parent).map((a) => [
    when(a.created_at), a.kind, a.scope, a.requested_by,
    badge(String(a.state || '').replace('_', ' '), ACTION_STATE[a.state] || ''),
    // the system's own actions (a breaker trip, foreign activity) say why first: nobody typed a command for them
    el('span', { 'data-action-id': a.action_id || a.id }, (a.source === 'system' && a.reason ? `${a.reason}: ` : '')
      + (a.state === 'in_progress' ? progress(a) : (a.note || progress(a))))]),
  'No operator action yet.');
}

function watchActions() {
  const root = el('div', { id: 'operator-actions' }, el('p', { class: 'muted' }, 'Loading…'));
  watchQuery((db) => query(collection(db, 'operator_actions'), orderBy('created_at', 'desc'), limit(30)),
    (rows) => root.replaceChildren(actionRows(rows)),
    (error) => root.replaceChildren(el('p', { class: 'bad' }, `Operator actions cannot be shown: ${error.message}`)));
  return root;
}

export async function controls(ctx) {
  const view = await get('/controls');
  const readOnly = !ctx.me.can_change;
  const send = (kind, body) => async () => {
    try {
      const result = await post(`/controls/${kind}`, body);
      ctx.flash(`${kind} sent (command ${result.command_id})`);
    } catch (e) { ctx.flash(e.message, 'bad'); }
  };
  const code = el('input', { id: 'confirm-code', name: 'confirm_code', placeholder: 'confirmation code',
    autocomplete: 'off', pattern: '[A-Z0-9]{4,12}' });
  const pendingBox = el('div', { id: 'flatten-pending' }, view.pending_flatten.filter((p) => p.confirm_code).map((p) =>
    el('p', {}, `Pending flatten of ${p.scope}: code `, el('strong', {}, p.confirm_code), ` (expires ${when(p.expires_at)})`)));
  const requestFlatten = async () => {
    if (!window.confirm('Flatten ALL positions of ALL followers? You will be asked to confirm with a code.')) return;
    try {
      const result = await post('/controls/flatten', { scope: 'all', reason: 'requested from the web app' });
      pendingBox.replaceChildren(el('p', {}, 'Flatten requested. Type this code to confirm: ',
        el('strong', { id: 'flatten-code' }, result.confirm_code), ` (expires ${when(result.expires_at)})`));
    } catch (e) { ctx.flash(e.message, 'bad'); }
  };
  const confirmFlatten = async (event) => {
    event.preventDefault();
    try {
      const result = await post('/controls/flatten/confirm', { confirm_code: code.value.trim().toUpperCase() });
      ctx.flash(`Flatten confirmed (command ${result.command_id})`, 'warn');
      pendingBox.replaceChildren();
      code.value = '';
    } catch (e) { ctx.flash(e.message, 'bad'); }
  };
  return el('div', {}, el('h1', {}, 'Controls'),
    section('Operator actions', el('p', { class: 'muted' },
      'Every pause, resume, reconcile, close and flatten, every breaker trip and every pause for foreign activity '
      + '(an order or trade in a follower\'s account that SpreadPilot did not place), until it ends: done, partly done '
      + '(what is left is named and alerted) or failed.'), watchActions()),
    section('Kill switches', ...switches(view)),
    section('Entries', el('div', { class: 'actions' },
      el('button', { disabled: readOnly, id: 'pause-all', onclick: async () => {
        try {
          await ctx.confirmAction('/controls/pause', { scope: 'all', reason: 'paused from the web app' },
            'Pause new entries for every follower');
        } catch (e) { ctx.flash(e.message, 'bad'); }
      } }, 'Pause all entries'),
      el('button', { disabled: readOnly, id: 'resume-all', onclick: send('resume', { scope: 'all' }) }, 'Resume all entries'),
      el('button', { disabled: readOnly, id: 'reconcile', onclick: send('reconcile', { scope: 'all' }) }, 'Reconcile now'))),
    section('Flatten everything',
      el('p', { class: 'muted' }, 'Two steps: request, then confirm with the code before it expires.'),
      el('button', { class: 'danger', disabled: readOnly, id: 'flatten-request', onclick: requestFlatten }, 'Request flatten…'),
      pendingBox,
      el('form', { class: 'inline', onsubmit: confirmFlatten }, code,
        el('button', { class: 'danger', type: 'submit', disabled: readOnly, id: 'flatten-confirm' }, 'Confirm flatten'))));
}

export async function statements(ctx) {
  const { statements: rows } = await get('/statements');
  const viewer = el('div', { id: 'statement-viewer' });
  const open = (s, kind) => async () => {
    try {
      const url = await fileUrl(s.links[kind]);
      viewer.replaceChildren(section(`${s.follower_id} ${s.month} (${kind})`,
        el('p', {}, el('a', { href: url, target: '_blank', rel: 'noopener', id: 'statement-link',
          download: kind === 'xlsx' ? `${s.follower_id}-${s.month}.xlsx` : undefined }, `Open ${kind.toUpperCase()} in a new tab`)),
        kind === 'pdf' ? el('iframe', { src: url, class: 'pdf', title: `statement ${s.id}` }) : null));
    } catch (e) { ctx.flash(e.message, 'bad'); }
  };
  const ask = (s, what) => async () => {
    const resend = what === 'resend';
    if (resend && !window.confirm(`E-mail ${s.follower_id}'s ${s.month} statement to the follower again?`)) return;
    try {
      await post(`/statements/${encodeURIComponent(s.id)}/${what}`);
      ctx.flash(resend ? `Statement ${s.id}: resend asked` : `Statement ${s.id}: regeneration asked (no second e-mail)`);
    } catch (e) { ctx.flash(e.message, 'bad'); }
  };
  return el('div', {}, el('h1', {}, 'Statements'),
    section('Monthly statements', table(['Month', 'Follower', 'Net P&L', 'Commission', 'Sent', 'Files', ''], rows.map((s) => [
      s.month, s.follower_id, money(s.net_pnl), money(s.commission), when(s.sent_at || s.emailed_at),
      el('span', { class: 'actions' }, Object.keys(s.links).map((kind) => el('button', { class: 'small',
        'data-statement': s.id, 'data-kind': kind, onclick: open(s, kind) }, kind.toUpperCase()))),
      el('span', { class: 'actions' }, ['regenerate', 'resend'].map((what) => el('button', { class: 'small',
        'data-ask': `${what}:${s.id}`, disabled: !ctx.me.can_change, onclick: ask(s, what) },
      what === 'resend' ? 'Resend' : 'Regenerate')))]))),
    viewer);
}

// Commission invoices: an admin marks one paid for the amount shown (refused if the rollup corrected it since).
export async function invoices(ctx) {
  const { invoices: rows, unreadable } = await get('/invoices');
  const markPaid = (inv) => async () => {
    const note = window.prompt(`Mark ${inv.follower_id} ${inv.month} paid (${money(inv.amount)} ${inv.currency})? `
      + 'Payment reference (optional):', inv.payment_reference);
    if (note === null) return;
    try {
      await post(`/invoices/${encodeURIComponent(inv.id)}/paid`, { amount: inv.amount, note });
      ctx.flash(`Invoice ${inv.id} marked paid`);
      ctx.rerender();
    } catch (e) { ctx.flash(e.message, 'bad'); }
  };
  const state = (inv) => (inv.status === 'paid' ? badge(`paid ${when(inv.paid_at)}`, 'good')
    : inv.status === 'void' ? badge('void', '') : badge(inv.credit_note ? 'credit note' : 'unpaid', 'warn'));
  return el('div', {}, el('h1', {}, 'Invoices'),
    unreadable.length ? el('p', { class: 'error', id: 'invoices-unreadable' },
      `Unreadable invoice documents (fix them in the Firestore console): ${unreadable.join(', ')}`) : '',
    section('Commission invoices, newest month first', table(
      ['Month', 'Follower', 'Amount', 'IBAN', 'Reference', 'State', ''], rows.map((inv) => [
        inv.month, inv.follower_id, `${money(inv.amount)} ${inv.currency}`, inv.iban_masked, inv.payment_reference,
        state(inv), inv.status === 'unpaid' ? el('button', { class: 'small', 'data-invoice': inv.id,
          disabled: !ctx.me.can_change, onclick: markPaid(inv) }, 'Mark paid') : '']), 'No invoices yet.')));
}

export async function audit() {
  const { entries } = await get('/audit?limit=200');
  const detail = (e) => Object.entries(e).filter(([k]) => !['id', 'action', 'actor', 'source', 'at'].includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');
  return el('div', {}, el('h1', {}, 'Audit log'), section('Newest first', table(['When', 'Who', 'From', 'Action', 'Details'],
    entries.map((e) => [when(e.at), e.actor, e.source, e.action, el('code', {}, detail(e))]))));
}
