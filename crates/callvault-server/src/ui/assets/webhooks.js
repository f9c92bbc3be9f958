// Settings → Webhooks: add one (its secret is shown once) and remove one.

import { api } from './app.js';

const form = document.getElementById('webhook-form');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const alert = form.querySelector('.alert');
  alert.hidden = true;
  const events = [...form.querySelectorAll('input[name=events]:checked')].map((i) => i.value);
  try {
    const made = await api('POST', '/api/v1/webhooks', { url: form.elements.url.value, events });
    const secret = document.getElementById('webhook-secret');
    secret.querySelector('code').textContent = made.secret;
    secret.hidden = false;
    form.reset();
  } catch (error) {
    alert.textContent = error.message;
    alert.hidden = false;
  }
});

document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-delete-webhook]');
  if (!button || !window.confirm('Remove this webhook? Nothing more is sent to it.')) return;
  try {
    await api('DELETE', `/api/v1/webhooks/${button.dataset.deleteWebhook}`);
    location.reload();
  } catch (error) {
    window.alert(error.message);
  }
});
