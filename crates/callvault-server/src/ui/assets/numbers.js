// Settings → Phone numbers: the Edit Configuration dialog of each number.

import { api, openDialog, showProblem } from './app.js';

const dialog = document.getElementById('config-dialog');
const form = document.getElementById('config-form');
const recording = document.getElementById('call-recording');
const announcement = document.getElementById('consent-announcement');
const transcribe = document.getElementById('transcribe-automatically');
const redact = document.getElementById('redact-sensitive');
const forwards = document.getElementById('forward-list');
let editing = null;
let users = [];

function forwardRow(target = { phone: '', user_id: null }) {
  const item = document.createElement('li');
  const phone = document.createElement('input');
  phone.type = 'tel';
  phone.value = target.phone;
  phone.placeholder = '+1 415 555 0100';
  phone.setAttribute('aria-label', 'Forward to phone');
  const who = document.createElement('select');
  who.setAttribute('aria-label', 'Answered by');
  who.append(new Option('Nobody in particular', ''));
  for (const user of users) who.append(new Option(user.name, user.id, false, user.id === target.user_id));
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'quiet';
  remove.textContent = 'Remove';
  remove.addEventListener('click', () => item.remove());
  item.append(phone, who, remove);
  return item;
}

async function open(id, opener) {
  editing = id;
  showProblem(form, null);
  const [number, team] = await Promise.all([
    api('GET', `/api/v1/numbers/${id}`),
    users.length ? users : api('GET', '/api/v1/users'),
  ]);
  users = team;
  document.getElementById('config-number').textContent = `${number.label} · ${number.e164}`;
  recording.checked = number.call_recording;
  announcement.value = number.consent_announcement ?? '';
  transcribe.checked = number.transcribe_automatically;
  redact.checked = number.redact_sensitive;
  forwards.replaceChildren(...number.forward_to.map(forwardRow));
  openDialog(dialog, opener);
  recording.focus();
}

for (const item of document.querySelectorAll('[data-edit]')) {
  item.addEventListener('click', () => open(item.dataset.edit, item).catch((e) => alert(e.message)));
}

document.getElementById('add-forward').addEventListener('click', () => {
  const row = forwardRow();
  forwards.append(row);
  row.querySelector('input').focus();
});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const save = form.querySelector('button[type=submit]');
  save.disabled = true;
  try {
    await api('PATCH', `/api/v1/numbers/${editing}`, {
      call_recording: recording.checked,
      consent_announcement: announcement.value.trim() || null,
      transcribe_automatically: transcribe.checked,
      redact_sensitive: redact.checked,
      forward_to: [...forwards.children]
        .map((row) => ({ phone: row.querySelector('input').value.trim(), user_id: row.querySelector('select').value || null }))
        .filter((target) => target.phone),
    });
    dialog.close();
    location.reload();
  } catch (error) {
    showProblem(form, error.message);
  } finally {
    save.disabled = false;
  }
});
