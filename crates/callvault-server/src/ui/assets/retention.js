// Settings → Compliance → Retention: change the default or a number's policy with a dry run
// first (a change that would delete something at once asks again, showing what), and run the
// policy on demand after seeing what it would delete.

import { api, openDialog } from './app.js';

const policyDialog = document.getElementById('policy-dialog');
const form = document.getElementById('policy-form');
const runDialog = document.getElementById('run-dialog');
const status = document.getElementById('retention-status');
const dateFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });

function problem(dialog, message) {
  const alert = dialog.querySelector('.alert');
  alert.textContent = message ?? '';
  alert.hidden = !message;
}

/** The dry run as people read it: what goes, since when, what holds keep, the oldest few. */
function showPreview(container, preview, lead) {
  container.replaceChildren();
  const head = document.createElement('p');
  const deletes = preview.recordings + preview.conversations > 0;
  head.textContent = deletes ? `${lead} ${preview.summary}.` : 'Nothing is past its time: it would delete nothing now.';
  container.append(head);
  if (deletes && preview.oldest) {
    const since = document.createElement('p');
    since.textContent = `The oldest is from ${dateFormat.format(new Date(preview.oldest))}.`;
    container.append(since);
  }
  const held = preview.held_recordings + preview.held_conversations;
  if (held > 0) {
    const kept = document.createElement('p');
    kept.textContent = `Legal holds keep ${held} more that would otherwise go.`;
    container.append(kept);
  }
  if (preview.examples.length > 0) {
    const list = document.createElement('ul');
    list.className = 'examples';
    list.setAttribute('aria-label', 'For example');
    for (const e of preview.examples) {
      const item = document.createElement('li');
      const link = document.createElement('a');
      link.href = `/conversations/${e.conversation_id}`;
      link.textContent = `${e.recording_id ? 'A recording of a call on' : 'A conversation last active on'} ${dateFormat.format(new Date(e.at))}`;
      item.append(link);
      list.append(item);
    }
    container.append(list);
  }
  container.hidden = false;
  return deletes;
}

let scope = null;
let confirming = false;

/** The policy the form says, or null to follow the default. */
function chosenPolicy() {
  const action = form.elements.action.value;
  if (action === 'default') return null;
  if (action === 'keep_forever') return { action };
  return { action, after_days: Number(form.elements.days.value) };
}

function resetConfirmation() {
  confirming = false;
  const save = form.querySelector('[data-save]');
  save.textContent = 'Save';
  save.classList.replace('danger', 'primary');
}

function previewBody() {
  const policy = chosenPolicy();
  return scope === 'default' ? { default: policy } : { numbers: [{ number_id: scope, policy }] };
}

document.addEventListener('click', (event) => {
  const edit = event.target.closest('[data-edit-policy]');
  if (!edit) return;
  scope = edit.dataset.scope;
  policyDialog.querySelector('[data-policy-name]').textContent = edit.dataset.name;
  policyDialog.querySelector('[data-default-choice]').hidden = scope === 'default';
  form.reset();
  form.elements.action.value = edit.dataset.action;
  form.elements.days.value = edit.dataset.days || '';
  policyDialog.querySelector('[data-preview]').hidden = true;
  problem(policyDialog);
  resetConfirmation();
  daysWhenNeeded();
  openDialog(policyDialog, edit);
});

/** Days are asked for only when the policy deletes. */
function daysWhenNeeded() {
  const needsDays = ['delete_recordings', 'delete_conversations'].includes(form.elements.action.value);
  form.elements.days.required = needsDays;
  form.elements.days.disabled = !needsDays;
}

form?.addEventListener('change', () => {
  resetConfirmation();
  daysWhenNeeded();
});

form?.querySelector('[data-preview-button]').addEventListener('click', async () => {
  problem(policyDialog);
  try {
    const preview = await api('POST', '/api/v1/retention/preview', previewBody());
    showPreview(policyDialog.querySelector('[data-preview]'), preview, 'If it ran now, it would delete');
  } catch (error) {
    problem(policyDialog, error.message);
  }
});

form?.addEventListener('submit', async (event) => {
  event.preventDefault();
  problem(policyDialog);
  const save = form.querySelector('[data-save]');
  save.disabled = true;
  try {
    if (!confirming) {
      // A change that would delete something at its next run shows what, and asks again.
      const preview = await api('POST', '/api/v1/retention/preview', previewBody());
      if (preview.recordings + preview.conversations > 0) {
        showPreview(policyDialog.querySelector('[data-preview]'), preview, 'Saving this deletes, at the next run (daily, or Run now),');
        confirming = true;
        save.textContent = 'Delete and save';
        save.classList.replace('primary', 'danger');
        save.focus();
        return;
      }
    }
    if (scope === 'default') {
      await api('PUT', '/api/v1/settings/retention', { default: chosenPolicy() });
    } else {
      await api('PATCH', `/api/v1/numbers/${scope}`, { retention: chosenPolicy() });
    }
    location.reload();
  } catch (error) {
    problem(policyDialog, error.message);
  } finally {
    save.disabled = false;
  }
});

// How long audit entries are kept.
const auditForm = document.getElementById('audit-retention-form');
auditForm?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const alert = auditForm.querySelector('.alert');
  alert.hidden = true;
  const days = auditForm.elements.audit_days.value.trim();
  try {
    await api('PUT', '/api/v1/settings/retention', { audit_days: days === '' ? null : Number(days) });
    status.textContent = days === '' ? 'Audit entries are kept forever.' : `Audit entries are kept ${days} days.`;
  } catch (error) {
    alert.textContent = error.message;
    alert.hidden = false;
  }
});

const runButton = document.getElementById('run-retention');
runButton?.addEventListener('click', async () => {
  const confirm = runDialog.querySelector('[data-confirm]');
  confirm.disabled = true;
  problem(runDialog);
  openDialog(runDialog, runButton);
  try {
    const preview = await api('POST', '/api/v1/retention/preview', {});
    confirm.disabled = !showPreview(runDialog.querySelector('[data-preview]'), preview, 'It deletes');
  } catch (error) {
    problem(runDialog, error.message);
  }
});

runDialog?.querySelector('[data-confirm]').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const run = await api('POST', '/api/v1/retention/run');
    runDialog.close();
    status.textContent = `The retention policy ran: ${run.summary}.`;
  } catch (error) {
    problem(runDialog, error.message);
    button.disabled = false;
  }
});
