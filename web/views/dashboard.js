// Dashboard: executor heartbeat, gateways, today's signal and its fan-out across followers, open alerts.

import { get, post } from '../api.js';
import { badge, el, link, section, table, when } from '../dom.js';

function age(iso, nowIso) {
  if (!iso) return null;
  return Math.round((new Date(nowIso) - new Date(iso)) / 1000);
}

function heartbeat(data) {
  const beat = data.heartbeat;
  if (!beat) return section('Executor', el('p', {}, badge('no heartbeat', 'bad')));
  const seconds = age(beat.at, data.now);
  const fresh = seconds !== null && seconds < 120;
  return section('Executor',
    el('p', { id: 'heartbeat' }, badge(fresh ? 'alive' : 'stale', fresh ? 'good' : 'bad'),
      ` last heartbeat ${when(beat.at)} (${seconds}s ago)`),
    data.controls && data.controls.entries_paused ? el('p', {}, badge('entries paused (global)', 'warn')) : null);
}

function gateways(rows) {
  return section('Gateways', table(['Gateway', 'Mode', 'State', 'Since'], rows.map((g) => [
    g.id, g.mode || '—', badge(g.connected ? 'connected' : 'down', g.connected ? 'good' : 'bad'), when(g.since),
  ]), 'No gateway configured or reported.'));
}

export function fanOutBar(fan) {
  if (!fan) return null;
  const total = Math.max(fan.followers, fan.intents, 1);
  const pct = Math.round((fan.done / total) * 100);
  return el('div', { class: 'fanout', id: 'fan-out' },
    el('div', { class: 'bar', role: 'progressbar', 'aria-valuenow': pct, 'aria-valuemin': 0, 'aria-valuemax': 100 },
      el('span', { style: `width:${pct}%` })),
    el('p', {}, `${fan.done} of ${fan.followers} followers done · ${fan.intents} orders planned`),
    el('p', {}, Object.entries(fan.by_state).map(([state, n]) => badge(`${state}: ${n}`, stateKind(state)))));
}

export function stateKind(state) {
  if (['filled'].includes(state)) return 'good';
  if (['rejected', 'unknown', 'cancelled'].includes(state)) return 'bad';
  if (['partially_filled', 'skipped'].includes(state)) return 'warn';
  return '';
}

function signal(data) {
  const s = data.signal;
  if (!s) return section(`Today's signal (${data.today})`, el('p', { class: 'muted' }, 'No signal yet today.'));
  return section(`Today's signal (${data.today})`,
    el('p', {}, link(`/signals/${encodeURIComponent(s.id)}`, s.id)),
    el('p', {}, `${s.ticker} ${s.spread.strategy} · sell ${s.spread.short_strike} / buy ${s.spread.long_strike}`,
      ` · ${s.qty_per_leg} per leg · detected ${when(s.detected_at)}`),
    fanOutBar(data.fan_out));
}

export function alertRows(alerts, ctx, after) {
  return table(['When', 'Severity', 'Type', 'Message', ''], alerts.map((a) => [
    when(a.at), badge(a.severity, a.severity === 'CRITICAL' ? 'bad' : a.severity === 'WARNING' ? 'warn' : ''),
    a.type,
    el('span', {}, a.message, a.order_ref ? [' ', link(`/orders/${encodeURIComponent(a.order_ref)}`, 'order')] : null,
      a.signal_id ? [' ', link(`/signals/${encodeURIComponent(a.signal_id)}`, 'signal')] : null,
      a.follower_id ? [' ', link(`/followers/${encodeURIComponent(a.follower_id)}`, a.follower_id)] : null),
    a.acknowledged_at ? el('span', { class: 'muted' }, `ack ${a.acknowledged_by}`)
      : el('button', { class: 'small', 'data-ack': a.id, disabled: !ctx.me.can_change, onclick: async () => {
        await post(`/alerts/${encodeURIComponent(a.id)}/acknowledge`);
        ctx.flash(`Alert ${a.id} acknowledged`);
        after();
      } }, 'Acknowledge'),
  ]), 'No open alerts.');
}

export async function render(ctx) {
  const root = el('div', { class: 'grid' });
  const draw = async () => {
    const data = await get('/dashboard');
    root.replaceChildren(heartbeat(data), signal(data), gateways(data.gateways),
      el('div', { class: 'wide' }, section('Open alerts', alertRows(data.alerts, ctx, draw))));
  };
  await draw();
  ctx.every(5000, () => draw().catch(() => {}));
  return el('div', {}, el('h1', {}, 'Dashboard'), root);
}
