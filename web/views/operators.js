// Operators: who may sign in, with which role (admin changes things, viewer looks); an admin invites someone by
// e-mail (Identity Platform sends the "choose a password" e-mail), changes a role, disables or restores access.
// Every change is audited; a disabled operator is refused on their very next request.

import { get, patch, post } from '../api.js';
import { badge, el, section, table, when } from '../dom.js';

const ROLES = ['viewer', 'admin'];

function roleSelect(o, disabled) {
  return el('select', { 'data-role-of': o.email, disabled, 'aria-label': `role of ${o.email}` },
    ROLES.map((r) => el('option', { value: r, selected: r === o.role }, r)));
}

export async function list(ctx) {
  const { operators } = await get('/operators');
  const canChange = ctx.me.can_change;
  const rows = operators.map((o) => {
    const self = o.uid === ctx.me.uid;
    const select = roleSelect(o, !canChange || self);
    return [o.email, select, o.disabled ? badge('disabled', 'bad') : badge('active', 'good'),
      when(o.last_sign_in), o.invited_by || '—',
      el('span', { class: 'actions' },
        el('button', { class: 'small', 'data-save-role': o.email, disabled: !canChange || self, onclick: async () => {
          try {
            await patch(`/operators/${encodeURIComponent(o.uid)}`, { role: select.value });
            ctx.flash(`${o.email} is now ${select.value}`);
            ctx.rerender();
          } catch (e) { ctx.flash(e.message, 'bad'); }
        } }, 'Set role'),
        el('button', { class: o.disabled ? 'small' : 'small danger', 'data-toggle-access': o.email,
          disabled: !canChange || self, onclick: async () => {
            if (!o.disabled && !window.confirm(`Disable ${o.email}? They are signed out at once.`)) return;
            try {
              await patch(`/operators/${encodeURIComponent(o.uid)}`, { disabled: !o.disabled });
              ctx.flash(`${o.email} ${o.disabled ? 'restored' : 'disabled'}`, o.disabled ? 'ok' : 'warn');
              ctx.rerender();
            } catch (e) { ctx.flash(e.message, 'bad'); }
          } }, o.disabled ? 'Restore access' : 'Disable'))];
  });
  const email = el('input', { type: 'email', id: 'invite-email', name: 'email', required: true, autocomplete: 'off' });
  const role = el('select', { id: 'invite-role', name: 'role' }, ROLES.map((r) => el('option', { value: r }, r)));
  const invite = el('form', { class: 'card form', id: 'invite-form', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const invited = await post('/operators', { email: email.value, role: role.value });
      ctx.flash(`${invited.email} invited as ${invited.role}: they choose a password from the e-mail`);
      ctx.rerender();
    } catch (e) { ctx.flash(e.message, 'bad'); }
  } }, el('h2', {}, 'Invite an operator'), el('label', {}, 'E-mail', email), el('label', {}, 'Role', role),
  el('button', { type: 'submit', class: 'primary' }, 'Invite'));
  return el('div', {}, el('h1', {}, 'Operators'),
    section(`${operators.length} operators`,
      table(['E-mail', 'Role', 'Access', 'Last sign-in', 'Invited by', ''], rows, 'Nobody yet.')),
    canChange ? invite : null);
}
