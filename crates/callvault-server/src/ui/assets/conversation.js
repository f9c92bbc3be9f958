// A conversation page: opens at the newest activity (or at the call a call link names), loads
// earlier events on demand, separates days, wires players and transcripts, copies links, adds
// notes and deletes the conversation.

import { api, localizeTimes, openDialog, watchPage } from './app.js';
import { setUpPlayer } from './player.js';
import { setUpTranscript } from './transcript.js';

const page = document.querySelector('.conversation');
const status = document.getElementById('conversation-status');
const timeline = document.querySelector('.timeline');

function wirePlayers(root) {
  for (const player of root.querySelectorAll('.player')) {
    setUpTranscript(player, setUpPlayer(player));
  }
}

const dayName = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const dayNameYear = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });

/** "Today", "Yesterday", or the date, in the viewer's time zone. */
function dayLabel(at) {
  const today = new Date();
  const yesterday = new Date(today);
  yesterday.setDate(today.getDate() - 1);
  if (at.toDateString() === today.toDateString()) return 'Today';
  if (at.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return (at.getFullYear() === today.getFullYear() ? dayName : dayNameYear).format(at);
}

/** A heading before the first event of each day. */
function separateDays() {
  for (const old of timeline.querySelectorAll(':scope > .day')) old.remove();
  let last = '';
  for (const entry of timeline.querySelectorAll(':scope > li[data-at]')) {
    const at = new Date(entry.dataset.at);
    if (Number.isNaN(at.getTime()) || at.toDateString() === last) continue;
    last = at.toDateString();
    const day = document.createElement('li');
    day.className = 'day';
    const heading = document.createElement('h2');
    heading.textContent = dayLabel(at);
    day.append(heading);
    entry.before(day);
  }
}

wirePlayers(document);
separateDays();

// Open at the call a link names, or else at the newest activity.
const focus = document.getElementById(page.dataset.focus ?? location.hash.slice(1));
if (focus) {
  focus.classList.add('focused');
  focus.scrollIntoView({ block: 'center' });
  // A transcript search's match: its recording plays from where the words were said.
  const audio = focus.querySelector('.player audio');
  if (audio && page.dataset.start) {
    audio.currentTime = Number(page.dataset.start);
    audio.play().catch(() => {});
  }
} else {
  window.scrollTo(0, document.documentElement.scrollHeight);
}

// Earlier events: the page before this one, put above what is shown, the view kept still.
document.addEventListener('click', async (event) => {
  const link = event.target.closest('[data-earlier]');
  if (!link) return;
  event.preventDefault();
  link.setAttribute('aria-busy', 'true');
  try {
    const response = await fetch(link.href, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`The server answered ${response.status}.`);
    const html = new DOMParser().parseFromString(await response.text(), 'text/html');
    const entries = [...html.querySelectorAll('.timeline > li.entry')].map((e) => document.importNode(e, true));
    const fromBottom = document.documentElement.scrollHeight - window.scrollY;
    timeline.prepend(...entries);
    const next = html.querySelector('[data-earlier]');
    if (next) {
      link.href = next.getAttribute('href');
    } else {
      // Nothing earlier: the focus goes to the oldest event instead of being lost.
      link.remove();
      entries[0]?.setAttribute('tabindex', '-1');
      entries[0]?.focus({ preventScroll: true });
    }
    for (const entry of entries) {
      localizeTimes(entry);
      wirePlayers(entry);
    }
    separateDays();
    window.scrollTo(0, document.documentElement.scrollHeight - fromBottom);
  } catch (error) {
    say(`Earlier events could not be loaded: ${error.message}`);
  } finally {
    link.removeAttribute('aria-busy');
  }
});

// Live: the newest events are asked for again every few seconds while the page is seen; a new
// call, text or note is added at the end, and a call whose recording arrived (or whose state
// changed) is shown anew unless it is being played.
function showNews(html) {
  const atEnd = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 40;
  let added = false;
  for (const fresh of html.querySelectorAll('.timeline > li.entry')) {
    const shown = timeline.querySelector(`[data-event="${fresh.dataset.event}"]`);
    const entry = document.importNode(fresh, true);
    if (!shown) {
      timeline.append(entry);
      added = true;
    } else if (shown.dataset.state !== fresh.dataset.state && [...shown.querySelectorAll('audio')].every((a) => a.paused)) {
      shown.replaceWith(entry);
    } else {
      continue;
    }
    localizeTimes(entry);
    wirePlayers(entry);
  }
  if (added) {
    document.getElementById('timeline-empty')?.remove();
    separateDays();
    if (atEnd) window.scrollTo(0, document.documentElement.scrollHeight);
  }
}
watchPage(() => `/conversations/${page.dataset.conversation}`, showNews);

async function copy(link, message) {
  try {
    await navigator.clipboard.writeText(link);
    say(message);
  } catch {
    window.prompt('Copy this link:', link);
  }
}

document.addEventListener('click', (event) => {
  const button = event.target.closest('.copy-call-link');
  if (!button) return;
  copy(`${location.origin}/conversations/${page.dataset.conversation}/calls/${button.dataset.call}`,
    'Link to this call copied. It opens for team members who may see this contact.');
});

function say(message) {
  status.textContent = message;
  setTimeout(() => {
    if (status.textContent === message) status.textContent = '';
  }, 4000);
}

document.getElementById('copy-link').addEventListener('click', () => {
  copy(`${location.origin}/conversations/${page.dataset.conversation}`,
    'Link copied. It opens for team members who may see this contact.');
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
    item.dataset.at = added.occurred_at;
    timeline.append(item);
    separateDays();
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

// Edit contact: name and email, saved through the API; the page shows them at once.
const editButton = document.getElementById('edit-contact');
const contactDialog = document.getElementById('contact-dialog');
if (editButton && contactDialog) {
  const form = document.getElementById('contact-form');
  editButton.addEventListener('click', () => {
    form.querySelector('.alert').hidden = true;
    openDialog(contactDialog, editButton);
    form.elements.name.focus();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const save = form.querySelector('button[type=submit]');
    save.disabled = true;
    try {
      const email = form.elements.email.value.trim();
      await api('PATCH', `/api/v1/contacts/${form.dataset.contact}`, {
        name: form.elements.name.value,
        email: email || null,
      });
      contactDialog.close();
      location.reload();
    } catch (error) {
      const alert = form.querySelector('.alert');
      alert.textContent = error.message;
      alert.hidden = false;
    } finally {
      save.disabled = false;
    }
  });
}

const deleteButton = document.getElementById('delete-conversation');
const dialog = document.getElementById('delete-dialog');
if (deleteButton && dialog) {
  deleteButton.addEventListener('click', () => openDialog(dialog, deleteButton));
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
