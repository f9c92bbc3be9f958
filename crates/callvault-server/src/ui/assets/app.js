// What every page shares: times in the viewer's own time zone, the icon helper, and a small
// wrapper over the JSON API that turns its errors into messages people can read.

document.documentElement.classList.add('js');

// A link that acts as a button (Download) answers Space as buttons do, instead of scrolling.
document.addEventListener('keydown', (event) => {
  const link = event.target.closest?.('a[role="button"]');
  if (event.key !== ' ' || !link) return;
  event.preventDefault();
  link.click();
});

const assets = document.body.dataset.assets;

/** Points an icon's <use> at another symbol of the sprite. */
export function setIcon(button, name) {
  const use = button.querySelector('use');
  if (use) use.setAttribute('href', `${assets}/icons.svg#${name}`);
}

/** Calls the API with the session cookie; resolves to the JSON body or throws its message. */
export async function api(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new Error('Your session ended; sign in again.');
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const message = data?.error?.message ?? `The server answered ${response.status}.`;
    const error = new Error(message.charAt(0).toUpperCase() + message.slice(1) + (message.endsWith('.') ? '' : '.'));
    error.code = data?.error?.code;
    throw error;
  }
  return data;
}

/** `0:07`, `12:30`, `1:02:03`. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const dateYear = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** Rewrites every <time datetime> under `root` in the viewer's time zone. */
export function localizeTimes(root = document) {
  const now = new Date();
  for (const el of root.querySelectorAll('time[datetime]')) {
    const at = new Date(el.getAttribute('datetime'));
    if (Number.isNaN(at.getTime())) continue;
    el.title = full.format(at);
    if (el.dataset.style !== 'relative') {
      el.textContent = full.format(at);
    } else if (at.toDateString() === now.toDateString()) {
      el.textContent = timeOnly.format(at);
    } else if (at.getFullYear() === now.getFullYear()) {
      el.textContent = dateOnly.format(at);
    } else {
      el.textContent = dateYear.format(at);
    }
  }
}

/** Shows a message in a dialog's alert line, or hides it. */
export function showProblem(container, message) {
  const alert = container.querySelector('.alert');
  if (!alert) return;
  alert.textContent = message ?? '';
  alert.hidden = !message;
}

/** Menus opened by a button (the three-dot "More actions"): Escape and outside clicks close. */
function setUpMenus() {
  const close = (button) => {
    button.setAttribute('aria-expanded', 'false');
    button.nextElementSibling.hidden = true;
  };
  for (const button of document.querySelectorAll('[data-menu-button]')) {
    const menu = button.nextElementSibling;
    button.addEventListener('click', () => {
      const open = button.getAttribute('aria-expanded') === 'true';
      for (const other of document.querySelectorAll('[data-menu-button][aria-expanded=true]')) close(other);
      if (!open) {
        button.setAttribute('aria-expanded', 'true');
        menu.hidden = false;
        menu.querySelector('[role=menuitem]')?.focus();
      }
    });
    menu.addEventListener('keydown', (event) => {
      const items = [...menu.querySelectorAll('[role=menuitem]')];
      const at = items.indexOf(document.activeElement);
      if (event.key === 'Escape') { close(button); button.focus(); }
      if (event.key === 'ArrowDown') { items[(at + 1) % items.length].focus(); event.preventDefault(); }
      if (event.key === 'ArrowUp') { items[(at - 1 + items.length) % items.length].focus(); event.preventDefault(); }
    });
    menu.addEventListener('click', () => close(button));
  }
  document.addEventListener('click', (event) => {
    if (event.target.closest('.menu-anchor')) return;
    for (const open of document.querySelectorAll('[data-menu-button][aria-expanded=true]')) close(open);
  });
}

/** A live page: every 10 seconds while it is seen, and when it comes back into view, asks for
 * `url()` again (none: not now) with the ETag of what it last got, and hands `apply` the page
 * only when it changed (the server answers 304 otherwise). */
export function watchPage(url, apply) {
  let tag = null;
  const check = async () => {
    const target = url();
    if (document.visibilityState !== 'visible' || !target) return;
    const headers = { Accept: 'text/html' };
    if (tag) headers['If-None-Match'] = tag;
    const response = await fetch(target, { headers, credentials: 'same-origin' });
    if (response.status === 304 || !response.ok) return;
    tag = response.headers.get('ETag');
    apply(new DOMParser().parseFromString(await response.text(), 'text/html'));
  };
  const run = () => check().catch(() => {});
  setInterval(run, 10_000);
  document.addEventListener('visibilitychange', run);
}

/** Opens `dialog` as a modal; when it closes, the focus goes back to `opener` (the button
 * that opened it, or the menu button of the menu item that did, since the menu is gone). */
export function openDialog(dialog, opener) {
  const back = opener?.closest('.menu-anchor')?.querySelector('[data-menu-button]') ?? opener;
  dialog.addEventListener('close', () => back?.focus(), { once: true });
  dialog.showModal();
}

/** Buttons marked data-close close their dialog. */
function setUpDialogs() {
  for (const button of document.querySelectorAll('dialog [data-close]')) {
    button.addEventListener('click', () => button.closest('dialog').close());
  }
}

localizeTimes();
setUpMenus();
setUpDialogs();
