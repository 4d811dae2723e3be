// The single-page app: a History-API router, the signed-in user, and flash messages.

import { get, post, session, signIn, signOut } from './api.js';
import { el } from './dom.js';
import { stopAll } from './live.js';
import * as dashboard from './views/dashboard.js';
import * as events from './views/events.js';
import * as followers from './views/followers.js';
import * as gateways from './views/gateways.js';
import * as operators from './views/operators.js';
import * as trading from './views/trading.js';
import * as operations from './views/operations.js';

const ROUTES = [
  [/^\/$/, dashboard.render],
  [/^\/followers$/, followers.list],
  [/^\/followers\/new$/, followers.create],
  [/^\/followers\/([^/]+)$/, followers.detail],
  [/^\/gateways$/, gateways.list],
  [/^\/gateways\/new$/, gateways.create],
  [/^\/gateways\/([^/]+)$/, gateways.detail],
  [/^\/operators$/, operators.list],
  [/^\/signals$/, trading.signals],
  [/^\/signals\/([^/]+)$/, trading.signal],
  [/^\/orders\/([^/]+)$/, trading.order],
  [/^\/positions$/, trading.positions],
  [/^\/alerts$/, operations.alerts],
  [/^\/events$/, events.eventConsole],
  [/^\/controls$/, operations.controls],
  [/^\/statements$/, operations.statements],
  [/^\/invoices$/, operations.invoices],
  [/^\/audit$/, operations.audit],
];

const view = document.getElementById('view');
let me = null;

export function navigate(path) {
  history.pushState({}, '', path);
  route();
}

export function flash(message, kind = 'ok') {
  const box = document.getElementById('flash');
  box.replaceChildren(el('div', { class: `flash ${kind}` }, message));
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => box.replaceChildren(), 6000);
}

// Every dangerous action the same way: the request returns a code the server issued to this user; the action
// happens only once the same user types it back before it expires.
async function confirmAction(path, body, label, confirmPath = '/actions/confirm') {
  const asked = await post(path, body);
  if (!asked.confirm_code) { flash(`${label}: sent`); return asked; }
  const box = document.getElementById('confirm-box');
  const input = el('input', { id: 'confirm-input', autocomplete: 'off', placeholder: 'code', 'aria-label': 'code' });
  return new Promise((resolve) => {
    const close = (result) => { box.replaceChildren(); box.hidden = true; resolve(result); };
    const form = el('form', { class: 'card confirm', id: 'confirm-form', onsubmit: async (event) => {
      event.preventDefault();
      try {
        const done = await post(confirmPath, { confirm_code: input.value.trim().toUpperCase() });
        flash(`${label}: confirmed (command ${done.command_id || done.signal_id || ''})`, 'warn');
        close(done);
      } catch (e) { flash(e.message, 'bad'); }
    } },
    el('h2', {}, `${label}?`),
    el('p', {}, 'Type this code to confirm: ', el('strong', { id: 'confirm-code-shown' }, asked.confirm_code),
      ` (expires ${new Date(asked.expires_at).toLocaleTimeString()})`),
    input, el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'danger', id: 'confirm-submit' },
      'Confirm'), el('button', { type: 'button', onclick: () => close(null) }, 'Cancel')));
    box.replaceChildren(form);
    box.hidden = false;
    input.focus();
  });
}

function signInView(next) {
  const error = el('p', { class: 'error', id: 'signin-error' });
  const email = el('input', { type: 'email', name: 'email', id: 'email', autocomplete: 'username', required: true });
  const password = el('input', { type: 'password', name: 'password', id: 'password',
    autocomplete: 'current-password', required: true });
  const form = el('form', { class: 'card narrow', id: 'signin-form', onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      await signIn(email.value, password.value);
      me = null;
      navigate(next && next !== '/signin' ? next : '/');
    } catch (e) {
      error.textContent = `Sign-in failed: ${e.message}`;
    }
  } },
  el('h1', {}, 'Sign in'),
  el('label', {}, 'Email', email),
  el('label', {}, 'Password', password),
  el('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  error);
  return form;
}

function renderWho() {
  const who = document.getElementById('who');
  if (!me) { who.replaceChildren(); return; }
  who.replaceChildren(el('span', { class: 'muted' }, `${me.email} · ${me.role}`), ' ',
    el('button', { class: 'link', onclick: async () => { await signOut(); me = null; navigate('/signin'); } },
      'Sign out'));
}

let routeSeq = 0;

async function route() {
  stopAll();
  const mine = ++routeSeq;  // a slower earlier navigation must not draw over this one
  const path = location.pathname.replace(/\/+$/, '') || '/';
  document.querySelectorAll('#nav a').forEach((a) => {
    const href = a.getAttribute('href');
    a.classList.toggle('active', href === '/' ? path === '/' : path.startsWith(href));
  });
  if (path === '/signin' || !(await session())) {
    me = null;
    renderWho();
    if (path !== '/signin') history.replaceState({}, '', `/signin?next=${encodeURIComponent(path)}`);
    const next = new URLSearchParams(location.search).get('next') || '/';
    view.replaceChildren(signInView(next));
    return;
  }
  try {
    // Asked on every page: a disabled operator is signed out, a changed role shows, at the next click.
    me = await get('/me');
    renderWho();
    const found = ROUTES.map(([re, render]) => [path.match(re), render]).find(([m]) => m);
    if (!found) { view.replaceChildren(el('p', {}, 'No such page.')); return; }
    const [match, render] = found;
    const params = match.slice(1).map(decodeURIComponent);
    const ctx = { me, navigate, flash, rerender: route, confirmAction };
    const page = await render(ctx, ...params);
    if (mine === routeSeq) view.replaceChildren(page);
  } catch (e) {
    if (e.status === 401) return;
    view.replaceChildren(el('div', { class: 'card' }, el('p', { class: 'error' }, e.message)));
  }
}

document.addEventListener('click', (event) => {
  const anchor = event.target.closest('a[data-link]');
  if (!anchor || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(anchor.getAttribute('href'));
});
window.addEventListener('popstate', route);
window.addEventListener('signed-out', () => { me = null; route(); });
route();
