// Settings → Users: adding team members, and each one's role, scope, permissions and
// assigned contacts.

import { api, openDialog, showProblem } from './app.js';

const dialog = document.getElementById('user-dialog');
const form = document.getElementById('user-form');
const title = document.getElementById('user-title');
const picks = form.querySelector('.contact-picks');
const filter = form.querySelector('.contact-filter');
let editing = null;

function field(name) {
  return form.elements.namedItem(name);
}

function mode(isNew) {
  for (const el of form.querySelectorAll('.new-only')) el.hidden = !isNew;
  for (const el of form.querySelectorAll('.edit-only')) el.hidden = isNew;
  document.getElementById('password-hint').textContent = isNew ? 'optional: they can sign in once one is set' : 'leave empty to keep it';
}

async function showContacts() {
  if (!editing) return;
  const params = new URLSearchParams({ limit: '50' });
  if (filter.value.trim()) params.set('q', filter.value.trim());
  const page = await api('GET', `/api/v1/contacts?${params}`);
  picks.replaceChildren(...page.items.map((contact) => {
    const item = document.createElement('li');
    const label = document.createElement('label');
    label.className = 'check';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = contact.assigned_user_ids.includes(editing.id);
    box.addEventListener('change', async () => {
      const others = contact.assigned_user_ids.filter((id) => id !== editing.id);
      const assigned = box.checked ? [...others, editing.id] : others;
      try {
        const saved = await api('PATCH', `/api/v1/contacts/${contact.id}`, { assigned_user_ids: assigned });
        contact.assigned_user_ids = saved.assigned_user_ids;
        showProblem(form, null);
      } catch (error) {
        box.checked = !box.checked;
        showProblem(form, error.message);
      }
    });
    label.append(box, `${contact.name} · ${contact.phone}`);
    item.append(label);
    return item;
  }));
}

const tokenList = form.querySelector('.token-list');
const noTokens = form.querySelector('.token-none');

// The member's API tokens (names and dates, never secrets), each with Revoke.
async function showTokens() {
  if (!editing) return;
  const tokens = await api('GET', `/api/v1/users/${editing.id}/tokens`);
  noTokens.hidden = tokens.length > 0;
  tokenList.replaceChildren(...tokens.map((token) => {
    const item = document.createElement('li');
    const made = new Date(token.created_at).toLocaleDateString();
    const revoke = document.createElement('button');
    revoke.type = 'button';
    revoke.className = 'quiet';
    revoke.textContent = 'Revoke';
    revoke.setAttribute('aria-label', `Revoke token ${token.name}`);
    revoke.addEventListener('click', async () => {
      try {
        await api('DELETE', `/api/v1/users/${editing.id}/tokens/${token.id}`);
        showProblem(form, null);
        await showTokens();
      } catch (error) {
        showProblem(form, error.message);
      }
    });
    item.append(`${token.name} · made ${made} `, revoke);
    return item;
  }));
}

let timer = 0;
filter.addEventListener('input', () => {
  clearTimeout(timer);
  timer = setTimeout(() => showContacts().catch((e) => showProblem(form, e.message)), 250);
});

document.getElementById('add-user').addEventListener('click', () => {
  editing = null;
  form.reset();
  field('can_download').checked = true;
  title.textContent = 'Add user';
  mode(true);
  showProblem(form, null);
  openDialog(dialog, document.getElementById('add-user'));
  field('name').focus();
});

for (const button of document.querySelectorAll('[data-edit-user]')) {
  button.addEventListener('click', async () => {
    try {
      const users = await api('GET', '/api/v1/users');
      editing = users.find((u) => u.id === button.dataset.editUser);
      if (!editing) return;
      form.reset();
      title.textContent = `Edit ${editing.name}`;
      mode(false);
      field('role').value = editing.role;
      field('scope').value = editing.scope;
      field('can_download').checked = editing.can_download;
      field('can_delete').checked = editing.can_delete;
      field('disabled').checked = editing.disabled;
      field('extension').value = editing.extension ?? '';
      showProblem(form, null);
      openDialog(dialog, button);
      await Promise.all([showContacts(), showTokens()]);
    } catch (error) {
      showProblem(form, error.message);
    }
  });
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = {
    role: field('role').value,
    scope: field('scope').value,
    can_download: field('can_download').checked,
    can_delete: field('can_delete').checked,
    extension: field('extension').value.trim() || null,
  };
  if (field('password').value) body.password = field('password').value;
  try {
    if (editing) {
      body.disabled = field('disabled').checked;
      await api('PATCH', `/api/v1/users/${editing.id}`, body);
    } else {
      await api('POST', '/api/v1/users', { ...body, name: field('name').value, email: field('email').value });
    }
    dialog.close();
    location.reload();
  } catch (error) {
    showProblem(form, error.message);
  }
});
