// Dashboard, live: executor heartbeat and uptime, gateways, followers by state, open positions, today's P&L (MTM)
// in total and per follower, today's signal and its fan-out, open alerts. Each card redraws when its documents change.

import { post } from '../api.js';
import { badge, el, link, money, section, table, when } from '../dom.js';
import { collection, limit, newYorkToday, orderBy, query, watchDoc, watchQuery, where } from '../live.js';

// MTM snapshots are written when a follower's P&L changes, and at least every mtm_max_silence_s (300 s): a window
// a little longer holds every follower's latest reading.
const MTM_WINDOW_MS = 6 * 60 * 1000;

function age(iso) {
  return iso ? Math.round((Date.now() - new Date(iso)) / 1000) : null;
}

function duration(seconds) {
  if (seconds === null) return '—';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h ? `${h} h ${m} min` : `${m} min`;
}

function heartbeat(beat, global) {
  if (!beat) return [el('p', {}, badge('no heartbeat', 'bad'))];
  const seconds = age(beat.at);
  const fresh = seconds !== null && seconds < 120;
  return [el('p', { id: 'heartbeat' }, badge(fresh ? 'alive' : 'stale', fresh ? 'good' : 'bad'),
    ` last heartbeat ${when(beat.at)} (${seconds}s ago)`),
  el('p', { id: 'uptime' }, `Up ${duration(age(beat.started_at))} · version ${beat.version || '—'}`),
  global && global.entries_paused ? el('p', {}, badge('entries paused (global)', 'warn')) : null];
}

function gatewayRows(beat) {
  const rows = Object.entries((beat && beat.gateways) || {}).sort(([a], [b]) => (a < b ? -1 : 1));
  // The login state (e.g. waiting_for_2fa) is shown when the gateway supervisor reports it in the heartbeat.
  return table(['Gateway', 'State', 'Login', 'Since', 'Accounts'], rows.map(([id, g]) => [
    id, badge(g.connected ? 'connected' : 'down', g.connected ? 'good' : 'bad'),
    g.login_state ? badge(g.login_state, g.login_state === 'logged_in' ? 'good' : 'warn') : '—',
    when(g.since), Array.isArray(g.accounts) ? g.accounts.length : (g.accounts ?? '—')]),
  'No gateway reported.');
}

export function followerCounts(cards, controls) {
  const paused = new Set(controls.filter((c) => c.id !== 'global' && c.entries_paused).map((c) => c.id));
  const enabled = cards.filter((f) => f.enabled && f.state !== 'closed');
  return {
    total: cards.length,
    enabled: enabled.filter((f) => !paused.has(f.id)).length,
    paused: enabled.filter((f) => paused.has(f.id)).length,
    disabled: cards.length - enabled.length,
  };
}

function counts(c) {
  return el('div', { class: 'numbers', id: 'follower-counts' },
    [['Followers', c.total, ''], ['Enabled', c.enabled, 'good'], ['Paused', c.paused, 'warn'],
      ['Disabled', c.disabled, 'bad']].map(([label, n, kind]) => el('div', { class: `number ${kind}` },
      el('strong', { 'data-count': label.toLowerCase() }, String(n)), el('span', {}, label))));
}

export function fanOut(orders, followers) {
  const entries = orders.filter((o) => (o.kind || 'entry') === 'entry');
  const byState = {};
  for (const o of entries) byState[o.state || 'unknown'] = (byState[o.state || 'unknown'] || 0) + 1;
  const final = ['filled', 'partially_filled', 'cancelled', 'rejected', 'skipped'];
  return { followers, intents: entries.length, by_state: byState,
    done: Object.entries(byState).filter(([s]) => final.includes(s)).reduce((n, [, k]) => n + k, 0) };
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

// The newest snapshot of each follower.
export function latestMtm(snapshots) {
  const latest = new Map();
  for (const s of snapshots) {
    const seen = latest.get(s.follower_id);
    if (!seen || String(seen.at) < String(s.at)) latest.set(s.follower_id, s);
  }
  return [...latest.values()].sort((a, b) => Number(a.daily_pnl) - Number(b.daily_pnl));
}

function mtm(rows) {
  const total = rows.reduce((sum, r) => sum + Number(r.daily_pnl || 0), 0);
  return [el('p', { id: 'mtm-total' }, el('strong', {}, money(total)), ` across ${rows.length} followers (MTM)`),
    el('div', { class: 'scroll' }, table(['Follower', "Today's P&L", 'Unrealised', 'At'], rows.map((r) => [
      link(`/followers/${encodeURIComponent(r.follower_id)}`, r.follower_id), money(r.daily_pnl),
      money(r.unrealized_pnl), when(r.at)]), 'No mark-to-market yet today.'))];
}

export function alertRows(alerts, ctx) {
  return table(['When', 'Severity', 'Type', 'Message', ''], alerts.map((a) => [
    when(a.at), badge(a.severity, a.severity === 'CRITICAL' ? 'bad' : a.severity === 'WARNING' ? 'warn' : ''),
    a.type,
    el('span', {}, a.message, a.order_ref ? [' ', link(`/orders/${encodeURIComponent(a.order_ref)}`, 'order')] : null,
      a.signal_id ? [' ', link(`/signals/${encodeURIComponent(a.signal_id)}`, 'signal')] : null,
      a.follower_id ? [' ', link(`/followers/${encodeURIComponent(a.follower_id)}`, a.follower_id)] : null,
      ' ', link(`/events?alert_id=${encodeURIComponent(a.id)}`, 'timeline')),
    a.acknowledged_at ? el('span', { class: 'muted' }, `ack ${a.acknowledged_by}`)
      : el('button', { class: 'small', 'data-ack': a.id, disabled: !ctx.me.can_change, onclick: async () => {
        try {
          await post(`/alerts/${encodeURIComponent(a.id)}/acknowledge`);
          ctx.flash(`Alert ${a.id} acknowledged`);
        } catch (e) { ctx.flash(e.message, 'bad'); }
      } }, 'Acknowledge'),
  ]), 'No open alerts.');
}

function slot(id) {
  return el('div', { id });
}

export async function render(ctx) {
  const { day, startIso } = newYorkToday();
  const executor = slot('executor-card');
  const gateways = slot('gateways-card');
  const followers = slot('followers-card');
  const positions = slot('positions-card');
  const pnl = slot('mtm-card');
  const signalBox = slot('signal-card');
  const alerts = slot('alerts-card');
  const state = { beat: null, global: null, cards: [], controls: [], followersEnabled: 0 };
  let stopOrders = null;

  const drawExecutor = () => executor.replaceChildren(...heartbeat(state.beat, state.global).filter(Boolean));
  watchDoc('heartbeats/executor', (beat) => {
    state.beat = beat;
    drawExecutor();
    gateways.replaceChildren(gatewayRows(beat));
  });
  const drawFollowers = () => {
    const c = followerCounts(state.cards, state.controls);
    state.followersEnabled = c.enabled + c.paused;
    followers.replaceChildren(counts(c));
  };
  watchQuery((db) => collection(db, 'follower_cards'), (rows) => { state.cards = rows; drawFollowers(); });
  watchQuery((db) => collection(db, 'controls'), (rows) => {
    state.controls = rows;
    state.global = rows.find((r) => r.id === 'global') || null;
    drawFollowers();
    drawExecutor();
  });
  watchQuery((db) => query(collection(db, 'positions'), where('updated_at', '>=', startIso)), (rows) => {
    const open = rows.filter((p) => (p.legs || []).some((l) => Number(l.qty)));
    const assigned = open.filter((p) => p.assignment && p.assignment !== 'NONE').length;
    positions.replaceChildren(el('p', { id: 'open-positions' }, el('strong', {}, String(open.length)),
      ' open positions', assigned ? [' · ', badge(`${assigned} assigned`, 'bad')] : null));
  });
  const since = new Date(Date.now() - MTM_WINDOW_MS).toISOString();
  watchQuery((db) => query(collection(db, 'pnl_snapshots'), where('at', '>=', since)),
    (rows) => pnl.replaceChildren(...mtm(latestMtm(rows))));
  watchQuery((db) => query(collection(db, 'signals'), where('date', '==', day)), (rows) => {
    const signal = rows.sort((a, b) => (String(a.detected_at) < String(b.detected_at) ? -1 : 1)).pop();
    if (stopOrders) stopOrders();
    if (!signal) { signalBox.replaceChildren(el('p', { class: 'muted' }, 'No signal yet today.')); return; }
    const head = [el('p', {}, link(`/signals/${encodeURIComponent(signal.id)}`, signal.id), ' · ',
      link(`/events?signal_id=${encodeURIComponent(signal.id)}`, 'timeline')),
    el('p', {}, `${signal.ticker} ${signal.spread.strategy} · sell ${signal.spread.short_strike} / buy `,
      `${signal.spread.long_strike} · ${signal.qty_per_leg} per leg · detected ${when(signal.detected_at)}`)];
    signalBox.replaceChildren(...head);
    stopOrders = watchQuery((db) => query(collection(db, 'orders'), where('signal_id', '==', signal.id)),
      (orders) => signalBox.replaceChildren(...head, fanOutBar(fanOut(orders, state.followersEnabled))));
  });
  watchQuery((db) => query(collection(db, 'alerts'), orderBy('at', 'desc'), limit(50)),
    (rows) => alerts.replaceChildren(alertRows(rows.filter((a) => !a.acknowledged_at).slice(0, 10), ctx)));

  return el('div', {}, el('h1', {}, 'Dashboard'), el('div', { class: 'grid' },
    section('Executor', executor), section('Followers', followers), section('Positions', positions),
    section(`Today's signal (${day})`, signalBox), section('Gateways', gateways),
    el('div', { class: 'wide' }, section("Today's P&L", pnl)),
    el('div', { class: 'wide' }, section('Open alerts', alerts))));
}
