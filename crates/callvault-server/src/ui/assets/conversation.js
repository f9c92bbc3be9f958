// A conversation page: its players and transcripts, Copy link, and deleting it.

import { api, localizeTimes } from './app.js';
import { setUpPlayer } from './player.js';
import { setUpTranscript } from './transcript.js';

const page = document.querySelector('.conversation');
const status = document.getElementById('conversation-status');

for (const root of document.querySelectorAll('.player')) {
  setUpTranscript(root, setUpPlayer(root));
}

function say(message) {
  status.textContent = message;
  setTimeout(() => {
    if (status.textContent === message) status.textContent = '';
  }, 4000);
}

document.getElementById('copy-link').addEventListener('click', async () => {
  const link = `${location.origin}/conversations/${page.dataset.conversation}`;
  try {
    await navigator.clipboard.writeText(link);
    say('Link copied. It opens for team members who may see this contact.');
  } catch {
    window.prompt('Copy this link:', link);
  }
});

// A note is added to the end of the timeline as it was stored, without a reload.
const noteForm = document.getElementById('note-form');
noteForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = noteForm.elements.body;
  const alert = noteForm.querySelector('.alert');
  const button = noteForm.querySelector('button[type=submit]');
  button.disabled = true;
  alert.hidden = true;
  try {
    const added = await api('POST', `/api/v1/conversations/${page.dataset.conversation}/notes`, { body: body.value });
    const item = document.createElement('li');
    item.className = 'entry note-entry';
    item.innerHTML = '<p></p><span class="meta">Note by <span class="author"></span> · <time></time></span>';
    item.querySelector('p').textContent = added.note.body;
    item.querySelector('.author').textContent = added.note.author?.name ?? 'you';
    item.querySelector('time').setAttribute('datetime', added.occurred_at);
    document.querySelector('.timeline').append(item);
    document.getElementById('timeline-empty')?.remove();
    localizeTimes(item);
    body.value = '';
    say('Note added.');
  } catch (error) {
    alert.textContent = error.message;
    alert.hidden = false;
  } finally {
    button.disabled = false;
  }
});

const deleteButton = document.getElementById('delete-conversation');
const dialog = document.getElementById('delete-dialog');
if (deleteButton && dialog) {
  deleteButton.addEventListener('click', () => dialog.showModal());
  dialog.querySelector('[data-confirm]').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await api('DELETE', `/api/v1/conversations/${page.dataset.conversation}`);
      location.href = '/';
    } catch (error) {
      const alert = dialog.querySelector('.alert');
      alert.textContent = error.message;
      alert.hidden = false;
      button.disabled = false;
    }
  });
}
