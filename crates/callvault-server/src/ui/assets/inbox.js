// The Inbox: search as you type, Quick Filters, and older conversations loaded on scroll.
// Each update fetches this same page with the new query and takes its list, so the list is
// rendered in one place only: the server's template.

import { api, localizeTimes, watchPage } from './app.js';

const form = document.getElementById('inbox-form');
const results = document.getElementById('inbox-results');
const search = form.querySelector('input[name=q]');
const filtersButton = document.getElementById('quick-filters-button');
const filters = document.getElementById('quick-filters');

let pending = null;

/** The form as a query, leaving out what is the default (so links stay short). */
function query() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    const text = String(value).trim();
    if (!text || (name === 'channel' && text === 'all') || (name === 'mode' && text === 'conversations')) continue;
    params.set(name, text);
  }
  return params.toString();
}

async function fetchPage(url) {
  pending?.abort();
  pending = new AbortController();
  const response = await fetch(url, { signal: pending.signal, headers: { Accept: 'text/html' } });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  return new DOMParser().parseFromString(await response.text(), 'text/html');
}

async function refresh() {
  const qs = query();
  const url = qs ? `/?${qs}` : '/';
  try {
    const page = await fetchPage(url);
    results.replaceChildren(...page.getElementById('inbox-results').childNodes);
    localizeTimes(results);
    history.replaceState(null, '', url);
    watchMore();
    const active = [...new URLSearchParams(qs).keys()].some((k) => k !== 'q' && k !== 'mode');
    filtersButton.querySelector('.dot')?.remove();
    if (active) filtersButton.insertAdjacentHTML('beforeend', '<span class="dot" aria-hidden="true"></span>');
  } catch (error) {
    // Should the quick update fail, load the page itself: it shows what went wrong.
    if (error.name !== 'AbortError') location.href = url;
  }
}

let timer = 0;
search.addEventListener('input', () => {
  clearTimeout(timer);
  timer = setTimeout(refresh, 250);
});
form.addEventListener('submit', (event) => {
  event.preventDefault();
  clearTimeout(timer);
  refresh();
});

function setFiltersOpen(open) {
  filters.classList.toggle('open', open);
  filtersButton.setAttribute('aria-expanded', String(open));
  if (open) form.querySelector('input[name=channel]:checked')?.focus();
}
filtersButton.addEventListener('click', () => setFiltersOpen(!filters.classList.contains('open')));
// Conversations or Transcripts: what the search box searches.
for (const radio of form.querySelectorAll('input[name=mode]')) {
  radio.addEventListener('change', () => {
    search.placeholder = radio.value === 'transcripts' ? 'Search what was said' : 'Search by name or phone number';
    refresh();
  });
}

// A choice applies at once; a radio choice also closes Quick Filters (arrow keys move between
// the choices without closing, as a radio group does). Lists, days and "Unread only" leave it
// open for the next.
for (const control of filters.querySelectorAll('input, select')) {
  control.addEventListener('change', refresh);
  if (control.type !== 'radio') continue;
  control.addEventListener('click', (event) => {
    if (event.detail === 0) return; // the keyboard's own "click" while arrowing through
    setFiltersOpen(false);
    filtersButton.focus();
  });
}
filters.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' || event.key === 'Enter') {
    event.preventDefault();
    setFiltersOpen(false);
    filtersButton.focus();
  }
});
document.addEventListener('click', (event) => {
  if (!event.target.closest('.filters')) setFiltersOpen(false);
});

// Keyboard: "/" goes to Search, j and k move down and up the list, Enter opens (as links do).
document.addEventListener('keydown', (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest('input, textarea, select, [contenteditable]')) return;
  if (event.key === '/') {
    event.preventDefault();
    search.focus();
    search.select();
    return;
  }
  if (event.key !== 'j' && event.key !== 'k') return;
  const rows = [...results.querySelectorAll('.conversation-row')];
  if (!rows.length) return;
  event.preventDefault();
  const at = rows.indexOf(document.activeElement);
  const next = at === -1 ? 0 : Math.min(rows.length - 1, Math.max(0, at + (event.key === 'j' ? 1 : -1)));
  rows[next].focus();
});

// Live: the first page is asked for again every few seconds while the tab is seen (a 304 when
// nothing changed); a conversation with news moves to the top with its new row, a new one
// appears there. Rows loaded further down stay. The server renders each user's own list, so
// nobody sees a row they may not.
/** What a row says: when it is from, and what happened last. */
const signature = (row) => [
  row.className,
  row.querySelector('time')?.getAttribute('datetime'), row.querySelector('.name')?.textContent,
  row.querySelector('.last')?.textContent,
].join('|');

function showNews(html) {
  const fresh = html.getElementById('inbox-results');
  const list = results.querySelector('.conversation-list');
  const freshList = fresh.querySelector('.conversation-list');
  if (!list || !freshList) {
    results.replaceChildren(...fresh.childNodes);
    localizeTimes(results);
    watchMore();
    return;
  }
  const rows = [...freshList.children].map((item) => {
    const href = item.querySelector('a')?.getAttribute('href');
    const shown = [...list.children].find((li) => li.querySelector('a')?.getAttribute('href') === href);
    if (shown && signature(shown) === signature(item)) return shown;
    shown?.remove();
    const row = document.importNode(item, true);
    localizeTimes(row);
    return row;
  });
  // Moved only when something changed: moving a row would take the focus off it.
  if (rows.some((row, i) => list.children[i] !== row)) list.prepend(...rows);
}
watchPage(
  () => (form.querySelector('input[name=mode]:checked')?.value === 'transcripts' ? null : location.pathname + location.search),
  showNews,
);

// "Mark as read" without opening it.
results.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-mark-read]');
  if (!button) return;
  const item = button.closest('li');
  button.disabled = true;
  try {
    await api('POST', `/api/v1/conversations/${item.dataset.conversation}/read`);
    item.classList.remove('unread');
    item.querySelector('.unread-dot')?.remove();
    item.querySelector('.conversation-row').focus();
    button.remove();
  } catch {
    button.disabled = false;
  }
});

// Older conversations arrive as the "Older conversations" link scrolls into view.
let observer = null;
function watchMore() {
  observer?.disconnect();
  const more = results.querySelector('[data-more]');
  if (!more) return;
  observer = new IntersectionObserver(async (entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    observer.disconnect();
    try {
      const page = await fetchPage(more.href);
      const next = page.getElementById('inbox-results');
      results.querySelector('.conversation-list').append(...next.querySelectorAll('.conversation-list > li'));
      localizeTimes(results);
      const nextMore = next.querySelector('[data-more]');
      if (nextMore) more.replaceWith(nextMore); else more.remove();
      watchMore();
    } catch (error) {
      if (error.name !== 'AbortError') watchMore();
    }
  });
  observer.observe(more);
}
watchMore();
