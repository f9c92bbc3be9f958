// A conversation page: its players and transcripts, Copy link, and deleting it.

import { api } from './app.js';
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
