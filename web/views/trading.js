// Signals and their timelines, orders with fills, positions, and daily/monthly P&L with a chart.

import { get } from '../api.js';
import { dailyPoints, pnlChart } from '../chart.js';
import { badge, el, link, money, section, table, when } from '../dom.js';
import { fanOutBar, stateKind } from './dashboard.js';

// Today's signal by hand, for when the sheet is down: the sheet's columns, the sheet's rules (the server reads the
// entry as it reads a row), one signal a day, and a code the server issues before anything is traded.
function manualEntry(ctx) {
  const field = (name, label, attrs = {}) => el('label', {}, label,
    el('input', { name, id: `manual-${name}`, autocomplete: 'off', ...attrs }));
  const strategy = el('select', { name: 'strategy', id: 'manual-strategy' },
    el('option', { value: 'Long' }, 'Long (bull put: sell put, buy put below)'),
    el('option', { value: 'Short' }, 'Short (bear call: sell call, buy call above)'));
  const form = el('form', { id: 'manual-signal', class: 'inline', onsubmit: async (event) => {
    event.preventDefault();
    const body = {};
    for (const [name, value] of new FormData(form).entries()) if (String(value).trim() !== '') body[name] = String(value).trim();
    try {
      const done = await ctx.confirmAction('/signals/manual', body, `Enter ${body.ticker || 'the'} signal by hand`);
      if (done && done.signal_id) ctx.navigate(`/signals/${encodeURIComponent(done.signal_id)}`);
    } catch (e) { ctx.flash(e.message, 'bad'); }
  } },
  field('ticker', 'Ticker', { value: 'QQQ', size: 6 }), el('label', {}, 'Strategy', strategy),
  field('qty_per_leg', 'Qty per leg', { size: 4, inputmode: 'numeric' }),
  field('sell_put', 'Sell put', { size: 6, inputmode: 'decimal' }), field('buy_put', 'Buy put', { size: 6, inputmode: 'decimal' }),
  field('sell_call', 'Sell call', { size: 6, inputmode: 'decimal' }), field('buy_call', 'Buy call', { size: 6, inputmode: 'decimal' }),
  field('reason', 'Why by hand', { size: 30, placeholder: 'the sheet is down' }),
  el('button', { type: 'submit', class: 'danger', id: 'manual-submit', disabled: !ctx.me.can_change }, 'Enter signal…'));
  return section('Enter today\'s signal by hand', el('p', { class: 'muted' },
    'Only when the sheet is down, before the cutoff. The day then has this one signal: a row the strategist writes '
    + 'later is not traded (operators are told).'), form);
}

export async function signals(ctx) {
  const { signals: rows } = await get('/signals');
  return el('div', {}, el('h1', {}, 'Signals'), section('Recent signals', table(
    ['Signal', 'Date', 'Source', 'Strategy', 'Strikes', 'Qty', 'Detected'], rows.map((s) => [
      link(`/signals/${encodeURIComponent(s.id)}`, s.id), s.date,
      s.source === 'manual' ? badge('by hand', 'warn') : 'sheet', s.spread?.strategy,
      `${s.spread?.short_strike} / ${s.spread?.long_strike}`, s.qty_per_leg, when(s.detected_at)]))),
  ctx.me.can_change ? manualEntry(ctx) : '');
}

function timeline(entries) {
  if (!entries || !entries.length) return el('p', { class: 'muted' }, 'No timeline recorded.');
  return el('ol', { class: 'timeline', id: 'timeline' }, entries.map((t) => el('li', {},
    el('time', {}, when(t.at)), ' ', el('strong', {}, t.event || t.stage || t.kind || ''),
    ' ', t.note || t.detail || t.message || '',
    t.follower_id ? [' ', link(`/followers/${encodeURIComponent(t.follower_id)}`, t.follower_id)] : null)));
}

const seconds = (v) => (v === null || v === undefined ? '—' : `${Number(v).toFixed(1)} s`);
const signed = (v) => (v === null || v === undefined ? '—' : `${Number(v) > 0 ? '+' : ''}${money(v)}`);

// Every follower's entry of the signal: how long it took and what it got against the signal's mid and the best fill
// (spreadpilot.fill_quality, the same figures as the statement and `make bench`).
function fillQuality(q) {
  if (!q) return el('p', { class: 'muted' }, 'No fill quality for this signal.');
  const { summary: t } = q;
  return el('div', { id: 'fill-quality' },
    el('p', { id: 'fill-summary' }, `${t.filled} filled · credits ${t.credit_spread ?? '—'} apart, best to worst · `
      + `the average follower ${t.avg_vs_best ?? '—'} from the best, filled ${seconds(t.avg_to_fill_s)} after the signal`),
    q.unreadable.length ? el('p', { class: 'error' }, `Orders left out (they do not parse): ${q.unreadable.join(', ')}`) : '',
    table(['Follower', 'To submit', 'To ack', 'To fill', 'Credit', 'vs mid', 'vs best'], q.rows.map((r) => [
      link(`/followers/${encodeURIComponent(r.follower_id)}`, r.follower_id), seconds(r.to_submit_s),
      seconds(r.to_ack_s), seconds(r.to_fill_s), el('span', { 'data-credit': r.follower_id }, money(r.credit)),
      signed(r.vs_mid), el('span', { 'data-vs-best': r.follower_id }, signed(r.vs_best))])));
}

export async function signal(ctx, id) {
  const data = await get(`/signals/${encodeURIComponent(id)}`);
  const s = data.signal;
  return el('div', {}, el('h1', {}, `Signal ${s.id}`),
    section('Signal', el('p', {}, `${s.date} · ${s.ticker} ${s.spread.strategy} · sell ${s.spread.short_strike} / buy `,
      `${s.spread.long_strike} · ${s.qty_per_leg} per leg · detected ${when(s.detected_at)}`,
      s.source === 'manual' ? [' · ', badge('entered by hand', 'warn')] : ''), fanOutBar(data.fan_out)),
    section('Timeline', timeline(s.timeline)),
    section('Fill quality', fillQuality(data.fill_quality)),
    section('Orders per follower', table(['Follower', 'Intent', 'Contracts', 'State', 'Filled', 'Avg credit', 'Reason'],
      data.orders.map((o) => [link(`/followers/${encodeURIComponent(o.follower_id)}`, o.follower_id),
        link(`/orders/${encodeURIComponent(o.intent_id)}`, o.kind), o.contracts, badge(o.state, stateKind(o.state)),
        o.filled_qty, money(o.avg_price), o.reason || '']))));
}

export async function order(ctx, id) {
  const { order: o, fills } = await get(`/orders/${encodeURIComponent(id)}`);
  return el('div', {}, el('h1', {}, `Order ${o.id}`),
    section('Intent', table(['Field', 'Value'], [
      ['Follower', link(`/followers/${encodeURIComponent(o.follower_id)}`, o.follower_id)],
      ['Signal', link(`/signals/${encodeURIComponent(o.signal_id)}`, o.signal_id)],
      ['Account / gateway', `${o.account} / ${o.gateway_id}`], ['State', badge(o.state, stateKind(o.state))],
      ['Contracts', `${o.filled_qty} filled of ${o.contracts}`], ['Limit', money(o.limit)],
      ['Average credit', money(o.avg_price)], ['Ladder step', o.ladder_step], ['Broker ids', `order ${o.order_id ?? '—'} · perm ${o.perm_id ?? '—'}`],
      ['Reason', o.reason || '—']])),
    section('History', table(['When', 'State', 'Note'], (o.history || []).map((h) => [when(h.at), h.state, h.note]))),
    section('Fills', table(['Exec id', 'Leg', 'Side', 'Qty', 'Price', 'Commission', 'When'], fills.map((f) => [
      f.exec_id, `${f.right || f.sec_type || ''} ${f.strike ?? ''}`, f.side, f.qty, money(f.price),
      money(f.commission), when(f.at)]))));
}

const ratio = (v) => (v === null || v === undefined ? '—' : `${(Number(v) * 100).toFixed(1)} %`);
const factor = (v) => (v === null || v === undefined ? '— (nothing lost)' : Number(v).toFixed(2));

function performanceRow(who, p) {
  return [who, p.trades, ratio(p.win_rate), factor(p.profit_factor), money(p.net), money(p.max_drawdown),
    `${p.max_consecutive_losses} (now ${p.consecutive_losses})`];
}

export async function positions() {
  const [pos, daily, monthly, perf] = await Promise.all([get('/positions'), get('/pnl/daily'), get('/pnl/monthly'),
    get('/performance')]);
  const points = dailyPoints(daily.rows);
  return el('div', {}, el('h1', {}, 'Positions & P&L'),
    section('Daily P&L (all followers)', points.length ? pnlChart(points) : el('p', { class: 'muted' }, 'No P&L yet.')),
    section('Performance (trades, not days)', el('div', { id: 'performance' }, perf.unreadable.length
      ? el('p', { class: 'error' }, `Daily P&L documents left out (they do not parse): ${perf.unreadable.join(', ')}`)
      : '', table(
      ['Who', 'Trades', 'Win rate', 'Profit factor', 'Net', 'Max drawdown', 'Most losses in a row'],
      [performanceRow('everyone', perf.overall),
        ...Object.entries(perf.followers).map(([fid, p]) => performanceRow(
          link(`/followers/${encodeURIComponent(fid)}`, fid), p))]))),
    section('Open positions', table(['Follower', 'Signal', 'Legs', 'Assignment', 'Updated'], pos.positions.map((p) => [
      link(`/followers/${encodeURIComponent(p.follower_id)}`, p.follower_id), p.signal_id || '—',
      (p.legs || []).map((l) => `${l.qty} ${l.right || l.sec_type} ${l.strike ?? ''}`).join(', '),
      badge(p.assignment, p.assignment === 'NONE' ? '' : 'bad'), when(p.updated_at)]))),
    section('Daily P&L', table(['Date', 'Follower', 'Realized', 'Commissions', 'Closing MTM', 'Trades'],
      daily.rows.slice().reverse().map((r) => [r.date, r.follower_id, money(r.realized_pnl), money(r.commissions),
        money(r.closing_mtm), r.trades ?? '—']))),
    section('Monthly', table(['Month', 'Follower', 'Net P&L', 'High-water mark', 'Commission'],
      monthly.rows.slice().reverse().map((r) => [r.month, r.follower_id, money(r.net_pnl), money(r.hwm_after),
        money(r.commission)]))));
}
