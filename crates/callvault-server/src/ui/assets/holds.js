// Legal holds, for admins: "Place legal hold" (on a contact, or on everything) asks for a
// reason; "Release" asks to confirm. Either reloads the page, which then shows the change.

import { api, openDialog } from './app.js';

const holdDialog = document.getElementById('hold-dialog');
const holdForm = document.getElementById('hold-form');
const releaseDialog = document.getElementById('release-dialog');

function problem(dialog, message) {
  const alert = dialog.querySelector('.alert');
  alert.textContent = message;
  alert.hidden = !message;
}

let scope = null;
document.addEventListener('click', (event) => {
  const place = event.target.closest('[data-place-hold]');
  if (place && holdDialog) {
    scope = place.dataset.contact
      ? { scope: 'contact', contact_id: place.dataset.contact }
      : { scope: 'installation' };
    holdDialog.querySelector('[data-hold-what]').textContent = place.dataset.contact
      ? 'Nothing in this contact\'s conversation can be deleted while the hold is in force: not by a team member, not by the retention policy, not through the API.'
      : 'Nothing at all can be deleted while the hold is in force: no conversation, contact or recording, by anyone or by the retention policy.';
    problem(holdDialog, '');
    holdForm.reset();
    openDialog(holdDialog, place);
    holdForm.elements.reason.focus();
    return;
  }
  const release = event.target.closest('[data-release-hold]');
  if (release && releaseDialog) {
    releaseDialog.dataset.hold = release.dataset.releaseHold;
    problem(releaseDialog, '');
    openDialog(releaseDialog, release);
  }
});

holdForm?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = holdForm.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    await api('POST', '/api/v1/legal-holds', { ...scope, reason: holdForm.elements.reason.value });
    location.reload();
  } catch (error) {
    problem(holdDialog, error.message);
    button.disabled = false;
  }
});

releaseDialog?.querySelector('[data-confirm]').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    await api('POST', `/api/v1/legal-holds/${releaseDialog.dataset.hold}/release`);
    location.reload();
  } catch (error) {
    problem(releaseDialog, error.message);
    button.disabled = false;
  }
});
