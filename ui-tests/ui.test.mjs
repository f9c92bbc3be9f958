// The web UI in a real Chromium against the real server: every control of the player acts on
// the <audio> element, the transcript appears and seeks, search and Quick Filters narrow the
// Inbox, the configuration persists, and a restricted user sees only what they may.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ADMIN, fixture, startServer } from './harness.mjs';
import { seed } from './seed.mjs';

const require = createRequire(join(process.env.CALLVAULT_UI_NODE ?? import.meta.dirname, 'package.json'));
const { chromium } = require('playwright-core');

// axe-core, pinned beside playwright-core, run inside each page (the contexts bypass the pages'
// Content-Security-Policy for that one script only: tests, not users).
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const shots = process.env.CALLVAULT_SCREENSHOTS ?? join(import.meta.dirname, 'screenshots');
mkdirSync(shots, { recursive: true });

let server;
let data;
let browser;
let admin;

async function signIn(email, password) {
  const context = await browser.newContext({
    acceptDownloads: true, bypassCSP: true, timezoneId: 'America/New_York', viewport: { width: 1200, height: 860 },
  });
  const page = await context.newPage();
  await page.goto(`${server.base}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.base}/`);
  return page;
}

/** The serious and critical faults axe-core finds on the page as it is now. */
async function faults(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

/** Runs `visit` (which leaves the page in the state to check) at a phone's and a desktop's
 * width, light and dark, and fails naming every serious fault found. */
async function checkAccessibility(page, label, visit) {
  const found = [];
  for (const [width, height] of [[390, 844], [1366, 900]]) {
    for (const colorScheme of ['light', 'dark']) {
      await page.setViewportSize({ width, height });
      await page.emulateMedia({ colorScheme });
      await visit();
      for (const fault of await faults(page)) found.push(`${label} at ${width}px, ${colorScheme}: ${fault}`);
    }
  }
  await page.setViewportSize({ width: 1200, height: 860 });
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}

const audioState = (page) => page.locator('.player audio').evaluate((a) => ({
  paused: a.paused, playbackRate: a.playbackRate, muted: a.muted, currentTime: a.currentTime, duration: a.duration,
}));

before(async () => {
  server = await startServer();
  data = await seed(server);
  browser = await chromium.launch({
    executablePath: process.env.CALLVAULT_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  admin = await signIn(ADMIN.email, ADMIN.password);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a shared link asks for sign-in first, then opens the conversation', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/conversations/${data.adaConversation}`);
  assert.match(page.url(), /\/login\?next=/);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'The email or password is wrong.' }).waitFor();
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.base}/conversations/${data.adaConversation}`);
  await page.getByRole('heading', { name: 'Ada Lovelace' }).waitFor();
  await context.close();
});

test('after sign-in a crafted next never leads to another site', async () => {
  for (const next of ['/%09/evil.example', '//evil.example', '/%5Cevil.example', 'https://evil.example/', '/%0D%0ALocation:%20//evil.example']) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.base}/login?next=${next}`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.base}/`);
    assert.equal(new URL(page.url()).origin, server.base, next);
    await context.close();
  }
});

test('the Inbox lists conversations newest first; search and Quick Filters narrow it', async () => {
  const page = admin;
  await page.goto(`${server.base}/`);
  const names = () => page.locator('.conversation-row .name').allInnerTexts();
  // A caller nobody named is shown once, by the number as people here write it.
  assert.deepEqual(await names(), ['Grace Hopper', 'Ada Lovelace', '(415) 555-0103']);
  assert.equal(await page.locator('.conversation-row').nth(2).locator('.phone').innerText(), '');
  assert.equal(await page.locator('.conversation-row').nth(1).locator('.phone').innerText(), '(415) 555-0101');
  // Each row says what happened last.
  const last = await page.locator('.conversation-row .last').allInnerTexts();
  assert.equal(last[0], 'Inbound · 2:00 · Dana Agent');
  assert.match(last[1], /^Inbound · 0:2[34] · Dana Agent$/);
  assert.equal(last[2], 'Hi, could you call me back about the invoice?');
  await page.screenshot({ path: join(shots, 'inbox.png'), animations: 'disabled' });

  await page.getByRole('searchbox', { name: 'Search' }).fill('ada');
  await page.waitForFunction(() => document.querySelectorAll('.conversation-row').length === 1);
  assert.deepEqual(await names(), ['Ada Lovelace']);
  assert.match(page.url(), /q=ada/);
  // Names in any order and without their accents.
  await page.getByRole('searchbox', { name: 'Search' }).fill('LOVÉLACE ada');
  await page.waitForFunction(() => document.querySelector('.conversation-row .name')?.textContent === 'Ada Lovelace'
    && document.querySelectorAll('.conversation-row').length === 1);

  // A phone number typed the way people write it.
  await page.getByRole('searchbox', { name: 'Search' }).fill('(415) 555-0102');
  await page.waitForFunction(() => document.querySelector('.conversation-row .name')?.textContent === 'Grace Hopper');
  assert.deepEqual(await names(), ['Grace Hopper']);

  await page.getByRole('searchbox', { name: 'Search' }).fill('nobody like this');
  await page.getByText('No conversations match.').waitFor();
  await page.getByRole('searchbox', { name: 'Search' }).fill('');
  await page.waitForFunction(() => document.querySelectorAll('.conversation-row').length === 3);

  await page.getByRole('button', { name: 'Quick Filters' }).click();
  await page.getByRole('group', { name: 'Last message channel' }).waitFor();
  await page.getByRole('radio', { name: 'Calls' }).check();
  await page.waitForFunction(() => document.querySelectorAll('.conversation-row').length === 2);
  assert.deepEqual(await names(), ['Grace Hopper', 'Ada Lovelace']);
  // A choice closes Quick Filters and gives the focus back to its button.
  assert.equal(await page.getByRole('button', { name: 'Quick Filters' }).getAttribute('aria-expanded'), 'false');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Quick Filters');
  await page.getByRole('button', { name: 'Quick Filters' }).click();
  await page.getByRole('radio', { name: 'SMS' }).check();
  await page.waitForFunction(() => document.querySelectorAll('.conversation-row').length === 1);
  assert.deepEqual(await names(), ['(415) 555-0103']);
  await page.getByRole('button', { name: 'Quick Filters' }).click();
  await page.getByRole('radio', { name: 'All', exact: true }).check();
  await page.waitForFunction(() => document.querySelectorAll('.conversation-row').length === 3);

  // The keyboard: "/" goes to Search, j and k move through the list, Enter opens.
  await page.locator('h1').click();
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Search');
  await page.locator('h1').click();
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.keyboard.press('k');
  await page.keyboard.press('j');
  assert.equal(await page.evaluate(() => document.activeElement.querySelector('.name')?.textContent), 'Ada Lovelace');
  await page.keyboard.press('Enter');
  await page.waitForURL(`${server.base}/conversations/${data.adaConversation}`);
});

test('a call entry shows its facts, and a call without a recording says why', async () => {
  const page = admin;
  await page.goto(`${server.base}/conversations/${data.adaConversation}`);
  const recorded = page.locator('.call-entry').filter({ has: page.locator('.player') });
  // One line says it all; the details open in place.
  assert.match(await recorded.locator('h3').innerText(), /^Inbound call · Answered · 0:2[34] · Dana Agent · Sales line$/);
  await recorded.getByText('Details').click();
  const facts = await recorded.locator('.call-facts').innerText();
  assert.match(facts, /Line\s+Sales line/i);
  assert.match(facts, /Direction\s+Inbound/i);
  assert.match(facts, /Duration\s+0:2[34]/i);
  assert.match(facts, /Status\s+Answered/i);
  assert.match(facts, /Handled by\s+Dana Agent/i);
  // The timestamp is in the viewer's time zone (the browser is set to New York).
  const shown = await recorded.locator('.call-facts time').innerText();
  assert.doesNotMatch(shown, /UTC/);
  await page.getByText('No recording: the call was not answered.').waitFor();

  await page.goto(`${server.base}/conversations/${data.graceConversation}`);
  await page.getByText('No recording: recording was off for this number when the call started.').waitFor();
  assert.equal(await page.locator('.player').count(), 0);
});

test('every player control acts on the audio', async () => {
  const page = admin;
  await page.goto(`${server.base}/conversations/${data.adaConversation}`);
  await page.waitForFunction(() => document.querySelector('.player audio').readyState >= 1);
  const play = page.getByRole('button', { name: 'Play' });
  await play.click();
  await page.waitForFunction(() => document.querySelector('.player audio').currentTime > 0.3);
  assert.equal((await audioState(page)).paused, false);
  await page.getByRole('button', { name: 'Pause' }).click();
  assert.equal((await audioState(page)).paused, true);

  await page.getByRole('combobox', { name: 'Playback speed' }).selectOption('1.5x');
  assert.equal((await audioState(page)).playbackRate, 1.5);
  await page.getByRole('combobox', { name: 'Playback speed' }).selectOption('0.5x');
  assert.equal((await audioState(page)).playbackRate, 0.5);
  await page.getByRole('combobox', { name: 'Playback speed' }).selectOption('2x');
  assert.equal((await audioState(page)).playbackRate, 2);

  await page.getByRole('button', { name: 'Mute' }).click();
  assert.equal((await audioState(page)).muted, true);
  await page.getByRole('button', { name: 'Unmute' }).click();
  assert.equal((await audioState(page)).muted, false);

  // The seek bar: a click lands where it is clicked; arrows step five seconds.
  const seek = page.getByRole('slider', { name: 'Seek' });
  const box = await seek.boundingBox();
  await page.mouse.click(box.x + box.width * 0.75, box.y + box.height / 2);
  let state = await audioState(page);
  assert.ok(Math.abs(state.currentTime - state.duration * 0.75) < 1.5, `clicked at 75%, now at ${state.currentTime} of ${state.duration}`);
  await seek.focus();
  await page.keyboard.press('ArrowLeft');
  const back = (await audioState(page)).currentTime;
  assert.ok(Math.abs(back - (state.currentTime - 5)) < 0.5, `ArrowLeft went from ${state.currentTime} to ${back}`);
  // Space on the seek bar toggles play.
  await page.keyboard.press(' ');
  await page.waitForFunction(() => !document.querySelector('.player audio').paused);
  await page.keyboard.press(' ');
  await page.waitForFunction(() => document.querySelector('.player audio').paused);

  await page.getByRole('button', { name: 'Restart' }).click();
  state = await audioState(page);
  assert.ok(state.currentTime < 1, `restart left the playhead at ${state.currentTime}`);
  assert.equal(state.paused, false);
  await page.getByRole('button', { name: 'Pause' }).click();

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /\.mp3$/);
  const bytes = readFileSync(await download.path());
  const mp3 = bytes.subarray(0, 3).toString() === 'ID3' || (bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0);
  assert.ok(bytes.length > 10_000 && mp3, `the download is not an MP3 (${bytes.length} bytes)`);
});

test('the transcript is made on demand; clicking a line seeks there', async () => {
  const page = admin;
  await page.goto(`${server.base}/conversations/${data.adaConversation}`);
  await page.getByRole('button', { name: 'Transcript' }).click();
  const lines = page.locator('.transcript .line');
  await lines.first().waitFor({ timeout: 120_000 });
  const text = (await page.locator('.transcript .lines').innerText()).toLowerCase();
  assert.match(text, /order/);
  const speakers = await page.locator('.transcript .line .speaker').allInnerTexts();
  assert.ok(speakers.includes('Ada Lovelace') && speakers.includes('Dana Agent'), `speakers: ${speakers}`);

  const third = lines.nth(2);
  const start = Number(await third.getAttribute('data-start'));
  await third.click();
  const state = await audioState(page);
  assert.ok(state.currentTime >= start - 0.1 && state.currentTime < start + 1.5, `line at ${start}, playhead at ${state.currentTime}`);
  await page.waitForFunction((el) => el.getAttribute('aria-current') === 'true', await third.elementHandle());
  await page.getByRole('button', { name: 'Pause' }).click();

  await page.getByRole('searchbox', { name: 'Find in transcript' }).fill('order');
  const visible = await page.locator('.transcript li:not([hidden]) .line').count();
  assert.ok(visible >= 1 && visible < (await lines.count()), 'find narrows the lines');
  assert.ok((await page.locator('.transcript mark').count()) >= 1, 'find marks the words');
  await page.getByRole('searchbox', { name: 'Find in transcript' }).fill('');
  await page.screenshot({ path: join(shots, 'conversation.png'), animations: 'disabled', fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(shots, 'conversation-dark.png'), animations: 'disabled', fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(shots, 'conversation-phone.png'), animations: 'disabled', fullPage: true });
  await page.setViewportSize({ width: 1200, height: 860 });
});

test('no page or dialog has a serious accessibility fault, on a phone or a desktop, light or dark', async () => {
  const page = admin;
  const found = [];
  const open = (path) => async () => {
    await page.goto(`${server.base}${path}`);
  };
  found.push(...await checkAccessibility(page, 'Inbox', open('/')));
  found.push(...await checkAccessibility(page, 'Inbox, Quick Filters open', async () => {
    await page.goto(`${server.base}/`);
    await page.getByRole('button', { name: 'Quick Filters' }).click();
  }));
  found.push(...await checkAccessibility(page, 'Inbox, nothing found', open('/?q=nobody+like+this')));
  found.push(...await checkAccessibility(page, 'Transcripts search', open('/?mode=transcripts&q=order')));
  found.push(...await checkAccessibility(page, 'Inbox with filters in force', open('/?direction=inbound&status=answered&unread=true')));
  found.push(...await checkAccessibility(page, 'Inbox, filters match nothing', open('/?direction=outbound&status=missed')));
  found.push(...await checkAccessibility(page, 'Conversation with a transcript', async () => {
    await page.goto(`${server.base}/conversations/${data.adaConversation}`);
    await page.getByRole('button', { name: 'Transcript' }).click();
    await page.locator('.transcript .line').first().waitFor({ timeout: 120_000 });
  }));
  found.push(...await checkAccessibility(page, 'Conversation, delete dialog', async () => {
    await page.goto(`${server.base}/conversations/${data.adaConversation}`);
    await page.getByRole('button', { name: 'Delete conversation' }).click();
  }));
  found.push(...await checkAccessibility(page, 'Conversation without recordings', open(`/conversations/${data.graceConversation}`)));
  found.push(...await checkAccessibility(page, 'Edit contact', async () => {
    await page.goto(`${server.base}/conversations/${data.graceConversation}`);
    await page.getByRole('button', { name: 'Edit contact' }).click();
  }));
  found.push(...await checkAccessibility(page, 'Call details open', async () => {
    await page.goto(`${server.base}/conversations/${data.adaConversation}`);
    await page.getByText('Details').first().click();
  }));
  found.push(...await checkAccessibility(page, 'Phone numbers', open('/settings/phone-numbers')));
  found.push(...await checkAccessibility(page, 'Edit Configuration', async () => {
    await page.goto(`${server.base}/settings/phone-numbers`);
    await page.getByRole('row').filter({ hasText: 'Sales line' }).getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('menuitem', { name: 'Edit Configuration' }).click();
    await page.getByRole('dialog', { name: 'Edit Configuration' }).waitFor();
  }));
  found.push(...await checkAccessibility(page, 'Users', open('/settings/users')));
  found.push(...await checkAccessibility(page, 'Compliance', open('/settings/compliance')));
  found.push(...await checkAccessibility(page, 'Audit', open('/settings/audit')));
  found.push(...await checkAccessibility(page, 'Webhooks', open('/settings/webhooks')));
  found.push(...await checkAccessibility(page, 'Audit, filtered to nothing', open('/settings/audit?action=hold_released&since=2001-01-01&until=2001-01-02')));
  found.push(...await checkAccessibility(page, 'Compliance, a retention change', async () => {
    await page.goto(`${server.base}/settings/compliance`);
    await page.getByRole('button', { name: 'Change the default' }).click();
    await page.getByRole('dialog').waitFor();
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('#policy-dialog [data-preview]:not([hidden])').waitFor();
  }));
  found.push(...await checkAccessibility(page, 'Conversation, placing a legal hold', async () => {
    await page.goto(`${server.base}/conversations/${data.graceConversation}`);
    await page.getByRole('button', { name: 'Place legal hold' }).click();
    await page.getByRole('dialog', { name: 'Place a legal hold' }).waitFor();
  }));
  found.push(...await checkAccessibility(page, 'Edit a user', async () => {
    await page.goto(`${server.base}/settings/users`);
    await page.getByRole('button', { name: 'Edit Sam Seller' }).click();
    await page.getByRole('dialog').waitFor();
  }));
  found.push(...await checkAccessibility(page, 'Not found', open('/conversations/0192a3b4-0000-7000-8000-000000000000')));
  const visitor = await (await browser.newContext({ bypassCSP: true })).newPage();
  found.push(...await checkAccessibility(visitor, 'Sign in', async () => {
    await visitor.goto(`${server.base}/login`);
  }));
  found.push(...await checkAccessibility(visitor, 'Sign in, wrong password', async () => {
    await visitor.goto(`${server.base}/login`);
    await visitor.getByLabel('Email').fill('nobody@example.com');
    await visitor.getByLabel('Password').fill('not the password');
    await visitor.getByRole('button', { name: 'Sign in' }).click();
    await visitor.getByRole('alert').waitFor();
  }));
  await visitor.context().close();
  assert.deepEqual(found, [], found.join('\n'));
});

test('Transcripts search finds what was said and opens the call playing from that moment', async () => {
  const page = admin;
  await page.goto(`${server.base}/`);
  await page.getByRole('radio', { name: 'Transcripts' }).check();
  await page.getByText('Type words to find them in what was said').waitFor();
  await page.getByRole('searchbox', { name: 'Search' }).fill('order');
  const hits = page.getByRole('list', { name: 'Where it was said' }).getByRole('link');
  await hits.first().waitFor();
  assert.match(page.url(), /mode=transcripts/);
  const first = hits.first();
  assert.match(await first.innerText(), /Ada Lovelace/);
  assert.match(await first.innerText(), /(Ada Lovelace|Dana Agent) at \d+:\d\d/);
  assert.equal((await first.locator('mark').first().innerText()).toLowerCase(), 'order');
  const href = await first.getAttribute('href');
  const start = Number(new URL(href, server.base).searchParams.get('t'));
  await first.click();
  await page.waitForURL(/\/calls\/.+\?t=/);
  // The call is marked, and its recording plays from the moment the words were said.
  await page.locator('.call-entry.focused .player').waitFor();
  await page.waitForFunction((t) => {
    const audio = document.querySelector('.call-entry.focused audio');
    return audio.currentTime >= t - 0.2 && !audio.paused;
  }, start);
  await page.locator('.call-entry.focused').getByRole('button', { name: 'Pause' }).click();

  await page.goto(`${server.base}/?mode=transcripts&q=zebra+crossing`);
  await page.getByText('Nobody said “zebra crossing” in a transcript you may see.').waitFor();
  const bad = await page.goto(`${server.base}/?mode=telepathy`);
  assert.equal(bad.status(), 400);
});

test('Edit Configuration turns Call Recording on and the change persists', async () => {
  const page = admin;
  await page.goto(`${server.base}/settings/phone-numbers`);
  const row = page.getByRole('row').filter({ hasText: 'Support line' });
  await row.getByRole('button', { name: 'More actions' }).click();
  await page.getByRole('menuitem', { name: 'Edit Configuration' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit Configuration' });
  await dialog.waitFor();
  await dialog.getByText('Call recording laws vary by jurisdiction').waitFor();
  assert.match(await dialog.innerText(), /consult legal counsel/);
  const recording = dialog.getByRole('switch', { name: 'Call Recording' });
  assert.equal(await recording.isChecked(), false);
  await recording.check();
  const redact = dialog.getByRole('switch', { name: 'Redact payment and ID details' });
  assert.equal(await redact.isChecked(), false);
  await redact.check();
  await dialog.getByLabel('Consent announcement').fill('Calls to support are recorded.');
  await page.screenshot({ path: join(shots, 'edit-configuration.png'), animations: 'disabled' });
  // Saving reloads the page with the new settings.
  await Promise.all([page.waitForEvent('load'), dialog.getByRole('button', { name: 'Save' }).click()]);
  await page.waitForFunction(() => [...document.querySelectorAll('tr')].some((tr) => tr.textContent.includes('Support line') && tr.querySelector('.badge')?.textContent === 'On'));

  const saved = await server.api('GET', `/api/v1/numbers/${data.support.id}`);
  assert.equal(saved.call_recording, true);
  assert.equal(saved.consent_announcement, 'Calls to support are recorded.');
  assert.equal(saved.redact_sensitive, true);
  await row.getByRole('button', { name: 'More actions' }).click();
  await page.getByRole('menuitem', { name: 'Edit Configuration' }).click();
  assert.equal(await page.getByRole('switch', { name: 'Call Recording' }).isChecked(), true);
  assert.equal(await page.getByRole('switch', { name: 'Redact payment and ID details' }).isChecked(), true);
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

  // A bad forward target is refused with the server's reason, and nothing changes.
  await row.getByRole('button', { name: 'More actions' }).click();
  await page.getByRole('menuitem', { name: 'Edit Configuration' }).click();
  await page.getByRole('button', { name: 'Add phone' }).click();
  await page.getByLabel('Forward to phone').fill('not a phone');
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
  await page.getByRole('dialog').getByRole('alert').waitFor();
  assert.deepEqual((await server.api('GET', `/api/v1/numbers/${data.support.id}`)).forward_to, []);
});

test('a restricted user sees only assigned contacts, has no Download, and gets 404 elsewhere', async () => {
  const page = await signIn('sam@example.com', 'sam password 1');
  const names = await page.locator('.conversation-row .name').allInnerTexts();
  assert.deepEqual(names, ['Ada Lovelace']);
  await page.goto(`${server.base}/conversations/${data.adaConversation}`);
  await page.getByRole('button', { name: 'Play' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Download' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Delete conversation' }).count(), 0);

  const response = await page.goto(`${server.base}/conversations/${data.graceConversation}`);
  assert.equal(response.status(), 404);
  await page.getByRole('heading', { name: 'Not found' }).waitFor();
  const garbage = await page.goto(`${server.base}/conversations/not-an-id`);
  assert.equal(garbage.status(), 404);
  const users = await page.goto(`${server.base}/settings/users`);
  assert.equal(users.status(), 403);
  await page.context().close();
});

test('an admin changes a user\'s download permission on the Users page', async () => {
  const page = admin;
  const samToken = server.tokenFor('sam@example.com', 'Zapier');
  await page.goto(`${server.base}/settings/users`);
  await page.getByRole('button', { name: 'Edit Sam Seller' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('Ada Lovelace').waitFor();
  // Sam's API token is listed (never its secret) and can be revoked from here.
  await dialog.getByText(/Zapier · made/).waitFor();
  assert.equal(await dialog.getByText(samToken).count(), 0);
  await dialog.getByRole('button', { name: 'Revoke token Zapier' }).click();
  await dialog.getByText('No API tokens.').waitFor();
  const revoked = await fetch(`${server.base}/api/v1/me`, { headers: { Authorization: `Bearer ${samToken}` } });
  assert.equal(revoked.status, 401);
  assert.equal(await dialog.getByRole('checkbox', { name: /Ada Lovelace/ }).isChecked(), true);
  await dialog.getByRole('checkbox', { name: 'May download recordings' }).check();
  // A password anyone could guess is refused, saying why, and nothing is saved.
  await dialog.getByLabel('Password').fill('password12');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'too easy to guess' }).waitFor();
  await dialog.getByLabel('Password').fill('');
  await Promise.all([page.waitForEvent('load'), dialog.getByRole('button', { name: 'Save' }).click()]);
  await page.getByRole('row').filter({ hasText: 'Sam Seller' }).getByRole('cell', { name: 'Yes' }).first().waitFor();
  const users = await server.api('GET', '/api/v1/users');
  assert.equal(users.find((u) => u.email === 'sam@example.com').can_download, true);
});

test('a legal hold placed from a conversation shows there and in the Inbox, keeps Delete away, and is released from Compliance', async () => {
  const page = admin;
  await page.goto(`${server.base}/conversations/${data.graceConversation}`);
  await page.getByRole('button', { name: 'Place legal hold' }).click();
  const dialog = page.getByRole('dialog', { name: 'Place a legal hold' });
  await dialog.getByLabel('Reason').fill('Smith v. Acme, case 24-1187');
  await dialog.getByRole('button', { name: 'Place hold' }).click();
  const notice = page.getByRole('region', { name: 'On legal hold' });
  await notice.waitFor();
  assert.match(await notice.innerText(), /Smith v\. Acme, case 24-1187.*placed by Alex Admin/s);
  assert.equal(await page.getByRole('button', { name: 'Delete conversation' }).count(), 0);
  await assert.rejects(server.api('DELETE', `/api/v1/conversations/${data.graceConversation}`), /409/);

  await page.goto(`${server.base}/`);
  const row = page.locator('.conversation-list li').filter({ hasText: 'Grace Hopper' });
  await row.getByRole('img', { name: 'On legal hold' }).waitFor();

  await page.goto(`${server.base}/settings/compliance`);
  await page.getByRole('button', { name: 'Release the hold on Grace Hopper' }).click();
  await page.getByRole('dialog', { name: 'Release this legal hold?' }).getByRole('button', { name: 'Release hold' }).click();
  await page.getByText('No legal holds are in force.').waitFor();
  await page.getByText('Released holds (1)').click();
  assert.match(await page.locator('.released-holds').innerText(), /Smith v\. Acme/);
  await page.goto(`${server.base}/conversations/${data.graceConversation}`);
  await page.getByRole('button', { name: 'Delete conversation' }).waitFor();
});

test('retention: a change is previewed; one that deletes at once asks again; Run now deletes what it showed', async () => {
  const page = admin;
  // A line whose phone system recorded before it came here, with a call from two months ago.
  const daysAgo = (d) => new Date(Date.now() - d * 86_400_000).toISOString();
  const archive = await server.api('POST', '/api/v1/numbers', {
    e164: '+14155550177', label: 'Archive line', provider: 'pbx', call_recording: true,
    recording_since: daysAgo(100),
  });
  const old = await server.api('POST', '/api/v1/calls', {
    number: archive.e164, contact_phone: '+14155550178', direction: 'inbound', status: 'answered',
    started_at: daysAgo(60), answered_at: daysAgo(60), ended_at: daysAgo(59.99),
  });
  await server.api('PUT', `/api/v1/calls/${old.id}/recording`, fixture('call-turns-2ch.mp3'), { 'Content-Type': 'audio/mpeg' });

  await page.goto(`${server.base}/settings/compliance`);
  await page.getByRole('button', { name: 'Change retention for Archive line' }).click();
  const dialog = page.getByRole('dialog', { name: 'Retention for Archive line' });
  await dialog.getByLabel('Delete recordings after a number of days').check();
  await dialog.getByLabel('Days', { exact: true }).fill('30');
  await dialog.getByRole('button', { name: 'Preview' }).click();
  await dialog.getByText(/If it ran now, it would delete 1 recording/).waitFor();
  await dialog.getByRole('button', { name: 'Save' }).click();
  // It would delete at once: the dialog says so and asks again.
  await dialog.getByText(/Saving this deletes, at the next run \(daily, or Run now\), 1 recording/).waitFor();
  await dialog.getByRole('button', { name: 'Delete and save' }).click();
  await page.getByRole('row').filter({ hasText: 'Archive line' }).getByText('Delete recordings 30 days after the call').waitFor();
  await server.api('GET', `/api/v1/calls/${old.id}`).then((call) => assert.ok(call.recording, 'saving deletes nothing by itself'));

  await page.getByRole('button', { name: 'Run now' }).click();
  const run = page.getByRole('dialog', { name: 'Run the retention policy now?' });
  await run.getByText(/It deletes 1 recording/).waitFor();
  await run.getByRole('button', { name: 'Delete now' }).click();
  await page.getByRole('status').filter({ hasText: 'deleted 1 recording' }).waitFor();
  const call = await server.api('GET', `/api/v1/calls/${old.id}`);
  assert.equal(call.recording, null);
  await page.goto(`${server.base}/conversations/${old.conversation_id}`);
  await page.getByText(/Recording deleted by the retention policy on/).waitFor();
  // The Audit page shows the run's deletion, and the conversation's Audit log link its entries.
  await page.goto(`${server.base}/settings/audit`);
  await page.getByLabel('Action').selectOption({ label: 'Deleted by the retention policy' });
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByRole('cell', { name: 'Deleted by the retention policy' }).first().waitFor();
  const csv = page.getByRole('link', { name: 'Download CSV' });
  assert.match(await csv.getAttribute('href'), /action=retention_delete/);
  // The tests after this one count conversations by their last activity.
  await server.api('DELETE', `/api/v1/conversations/${old.conversation_id}`);
});

test('an admin adds a webhook, sees its secret once, and removes it', async () => {
  const page = admin;
  await page.goto(`${server.base}/settings/webhooks`);
  await page.getByText('No webhooks yet.').waitFor();
  await page.getByLabel('URL').fill('http://127.0.0.1:9/hook');
  await page.getByRole('button', { name: 'Add webhook' }).click();
  await page.getByRole('alert').filter({ hasText: 'private network' }).waitFor();
  await page.getByLabel('URL').fill('https://hooks.example.com/callvault');
  await page.getByRole('button', { name: 'Add webhook' }).click();
  const secret = page.locator('#webhook-secret code');
  await secret.waitFor();
  assert.match(await secret.innerText(), /^whsec_/);
  await page.getByRole('link', { name: 'I have copied it' }).click();
  await page.getByRole('heading', { name: 'https://hooks.example.com/callvault' }).waitFor();
  assert.equal(await page.locator('#webhook-secret').isVisible(), false, 'shown once');
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Remove the webhook https://hooks.example.com/callvault' }).click();
  await page.getByText('No webhooks yet.').waitFor();
});

test('deleting a conversation says the recordings go too, and removes them', async () => {
  const page = admin;
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
  await page.goto(`${server.base}/conversations/${data.adaConversation}`);
  await page.getByRole('button', { name: 'Copy link' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${server.base}/conversations/${data.adaConversation}`);
  await page.getByRole('status').filter({ hasText: 'Link copied' }).waitFor();

  await page.getByRole('button', { name: 'Delete conversation' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete this conversation?' });
  assert.match(await dialog.innerText(), /2 calls and 1 recording: the audio files and transcripts go too/);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await server.api('GET', `/api/v1/recordings/${data.recordingId}`);

  await page.getByRole('button', { name: 'Delete conversation' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await page.waitForURL(`${server.base}/`);
  assert.ok(!(await page.locator('.conversation-row .name').allInnerTexts()).includes('Ada Lovelace'));
  await assert.rejects(server.api('GET', `/api/v1/recordings/${data.recordingId}`), /404/);
  const gone = await page.goto(`${server.base}/conversations/${data.adaConversation}`);
  assert.equal(gone.status(), 404);
});

test('a note is added from the conversation, shows at once and stays', async () => {
  const page = admin;
  await page.goto(`${server.base}/conversations/${data.graceConversation}`);
  const box = page.getByRole('textbox', { name: 'Add a note' });
  await box.fill('Called back; the invoice is resent.');
  await page.getByRole('button', { name: 'Add note' }).click();
  const note = page.locator('.note-entry').filter({ hasText: 'Called back; the invoice is resent.' });
  await note.waitFor();
  assert.match(await note.innerText(), /Note by Alex Admin/);
  assert.equal(await box.inputValue(), '');
  await page.getByRole('status').filter({ hasText: 'Note added.' }).waitFor();

  // Only spaces: the server's reason, and nothing added.
  await box.fill('   ');
  await page.getByRole('button', { name: 'Add note' }).click();
  await page.locator('.note-form').getByRole('alert').filter({ hasText: 'A note must be 1 to 5000 characters.' }).waitFor();

  await page.reload();
  assert.equal(await page.locator('.note-entry').filter({ hasText: 'Called back; the invoice is resent.' }).count(), 1);
  assert.equal(await page.locator('.note-entry').count(), 1);
});

test('one recording plays at a time; -10/+10, J and L skip; the place is kept; a failed load can be retried', async () => {
  const page = admin;
  // A contact with two recorded calls.
  const at = (s) => new Date(Date.now() + s * 1000).toISOString();
  const calls = [];
  for (const start of [5, 40]) {
    const call = await server.api('POST', '/api/v1/calls', {
      number: data.sales.e164, contact_phone: '+14155550142', contact_name: 'Two Calls', direction: 'inbound',
      status: 'answered', started_at: at(start), answered_at: at(start + 2), ended_at: at(start + 30),
    });
    await server.api('PUT', `/api/v1/calls/${call.id}/recording`, fixture('call-turns-2ch.mp3'), { 'Content-Type': 'audio/mpeg' });
    calls.push(call);
  }
  await page.goto(`${server.base}/conversations/${calls[0].conversation_id}`);
  await page.waitForFunction(() => [...document.querySelectorAll('.player audio')].every((a) => a.readyState >= 1));
  const players = page.locator('.player');
  const state = (i) => players.nth(i).locator('audio').evaluate((a) => ({ paused: a.paused, at: a.currentTime }));

  await players.nth(0).getByRole('button', { name: 'Play' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.player audio')[0].currentTime > 1);
  await players.nth(1).getByRole('button', { name: 'Play' }).click();
  await page.waitForFunction(() => !document.querySelectorAll('.player audio')[1].paused);
  // Starting the second pauses the first.
  await page.waitForFunction(() => document.querySelectorAll('.player audio')[0].paused);
  await players.nth(1).getByRole('button', { name: 'Pause' }).click();

  await players.nth(1).getByRole('button', { name: 'Restart' }).click();
  await players.nth(1).getByRole('button', { name: 'Pause' }).click();
  await players.nth(1).getByRole('button', { name: 'Forward 10 seconds' }).click();
  let now = (await state(1)).at;
  assert.ok(now > 9.5 && now < 11.5, `+10 went to ${now}`);
  await players.nth(1).getByRole('button', { name: 'Back 10 seconds' }).click();
  assert.ok((await state(1)).at < 1.5);
  // J and L act on the recording played last, wherever the focus is (but in a field).
  await page.locator('h1').click();
  await page.keyboard.press('l');
  await page.keyboard.press('l');
  now = (await state(1)).at;
  assert.ok(now > 19.5 && now < 21.5, `L twice went to ${now}`);
  await page.keyboard.press('j');
  now = (await state(1)).at;
  assert.ok(now > 9.5 && now < 11.5, `J went back to ${now}`);

  // Where it was left is where it opens again, in this session.
  await page.reload();
  await page.waitForFunction(() => {
    const [first, second] = document.querySelectorAll('.player audio');
    return first.currentTime > 0.5 && second.currentTime > 9;
  });
  now = (await state(1)).at;
  assert.ok(now > 9.5 && now < 11.5, `reopened at ${now}`);

  // The audio fails to load: said so, with Try again, which loads it once the server answers.
  let refuse = true;
  await page.route('**/api/v1/recordings/*/audio', (route) => (refuse ? route.fulfill({ status: 503, body: '' }) : route.fallback()));
  await page.reload();
  const failed = players.nth(0).getByRole('alert').filter({ hasText: 'The recording could not be loaded.' });
  await failed.waitFor();
  refuse = false;
  await players.nth(0).getByRole('button', { name: 'Try again' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.player audio')[0].readyState >= 1);
  assert.equal(await failed.isVisible(), false);
  await page.unroute('**/api/v1/recordings/*/audio');
});

test('Space on Download downloads, as Enter does', async () => {
  const page = admin;
  const conversation = (await server.api('GET', '/api/v1/conversations?q=Two%20Calls')).items[0];
  await page.goto(`${server.base}/conversations/${conversation.id}`);
  await page.getByRole('button', { name: 'Download' }).first().focus();
  const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press(' ')]);
  assert.match(download.suggestedFilename(), /\.mp3$/);
});

test('a long conversation opens at its newest events, by day; Earlier adds older ones; a call link opens at its call', async () => {
  const page = admin;
  // Seventy calls over two days and more, the last five minutes ago.
  const day = 24 * 3600 * 1000;
  const newest = Date.now() - 5 * 60 * 1000;
  const calls = [];
  for (let i = 0; i < 70; i++) {
    const start = newest - (69 - i) * ((2 * day) / 69);
    const call = await server.api('POST', '/api/v1/calls', {
      number: data.sales.e164, contact_phone: '+14155550166', contact_name: 'Long History', direction: i % 2 ? 'inbound' : 'outbound',
      status: 'answered', started_at: new Date(start).toISOString(), answered_at: new Date(start + 2000).toISOString(),
      ended_at: new Date(start + 60_000).toISOString(),
    });
    calls.push(call);
  }
  const conversation = calls[0].conversation_id;
  await page.goto(`${server.base}/conversations/${conversation}`);
  const entries = page.locator('.timeline > li.call-entry');
  assert.equal(await entries.count(), 30);
  // The newest is in view, the page scrolled to it.
  assert.ok(await page.locator(`#call-${calls[69].id}`).evaluate((e) => {
    const r = e.getBoundingClientRect();
    return r.top < innerHeight && r.bottom > 0;
  }), 'the newest call is in view');
  const days = () => page.locator('.timeline > .day h2').allInnerTexts();
  // In the browser's time zone (New York): "Today" unless New York's day began five minutes ago.
  const nyDay = (t) => new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(t);
  const newestDay = nyDay(newest) === nyDay(Date.now()) ? 'Today' : 'Yesterday';
  assert.equal((await days()).at(-1), newestDay);
  await page.screenshot({ path: join(shots, 'conversation-long.png'), animations: 'disabled' });

  await page.getByRole('link', { name: 'Earlier' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.timeline > li.call-entry').length === 60);
  await page.getByRole('link', { name: 'Earlier' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.timeline > li.call-entry').length === 70);
  assert.equal(await page.getByRole('link', { name: 'Earlier' }).count(), 0);
  const ids = await entries.evaluateAll((items) => items.map((e) => e.id));
  assert.deepEqual(ids, calls.map((c) => `call-${c.id}`), 'every call once, oldest first');
  const shown = await days();
  assert.ok(shown.length >= 3 && shown.length <= 4, `two days and more: ${shown}`);
  assert.equal(shown.at(-1), newestDay);
  if (newestDay === 'Today') assert.equal(shown.at(-2), 'Yesterday');
  assert.equal(new Set(shown).size, shown.length, 'one heading per day');

  // Each call has its own link, which opens at that call even when it is far back.
  await page.locator(`#call-${calls[3].id}`).getByRole('button', { name: 'Copy call link' }).click();
  const link = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(link, `${server.base}/conversations/${conversation}/calls/${calls[3].id}`);
  await page.goto(link);
  const target = page.locator(`#call-${calls[3].id}`);
  await target.waitFor();
  assert.match(await target.getAttribute('class'), /focused/);
  assert.ok(await target.evaluate((e) => {
    const r = e.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= innerHeight;
  }), 'the linked call is in view');
});

test('on a phone the dialogs fit the screen; closing one gives the focus back to what opened it', async () => {
  const page = admin;
  await page.setViewportSize({ width: 390, height: 844 });
  /** How far right the page and the dialog's widest element reach. */
  const reach = () => page.evaluate(() => {
    const dialog = document.querySelector('dialog[open]');
    const right = Math.max(...[...dialog.querySelectorAll('*')].map((e) => e.getBoundingClientRect().right));
    return { page: document.documentElement.scrollWidth, dialog: dialog.getBoundingClientRect().right, inside: right };
  });
  try {
    await page.goto(`${server.base}/settings/phone-numbers`);
    const more = page.getByRole('row').filter({ hasText: 'Sales line' }).getByRole('button', { name: 'More actions' });
    await more.click();
    await page.getByRole('menuitem', { name: 'Edit Configuration' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit Configuration' });
    await dialog.waitFor();
    let seen = await reach();
    assert.ok(seen.page <= 390 && seen.dialog <= 390 && seen.inside <= seen.dialog + 1, `Edit Configuration: ${JSON.stringify(seen)}`);
    await page.screenshot({ path: join(shots, 'phone-edit-configuration.png'), animations: 'disabled' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await more.evaluate((b) => b === document.activeElement), true, 'focus back on More actions');

    await page.goto(`${server.base}/settings/users`);
    const edit = page.getByRole('button', { name: 'Edit Sam Seller' });
    await edit.click();
    await page.getByRole('dialog').waitFor();
    seen = await reach();
    assert.ok(seen.page <= 390 && seen.dialog <= 390 && seen.inside <= seen.dialog + 1, `Edit user: ${JSON.stringify(seen)}`);
    await page.screenshot({ path: join(shots, 'phone-edit-user.png'), animations: 'disabled' });
    await page.keyboard.press('Escape');
    assert.equal(await edit.evaluate((b) => b === document.activeElement), true, 'focus back on Edit Sam Seller');
  } finally {
    await page.setViewportSize({ width: 1200, height: 860 });
  }
});

test('a new call appears in the Inbox and a new text in the conversation without a reload', async () => {
  const page = admin;
  // The tab coming back into view checks at once, as the timer does every few seconds.
  const lookAgain = () => page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  await page.goto(`${server.base}/`);
  const before = await page.locator('.conversation-row').count();
  const at = (s) => new Date(Date.now() + s * 1000).toISOString();
  await server.api('POST', '/api/v1/calls', {
    number: data.sales.e164, contact_phone: '+14155550177', contact_name: 'Live Caller', direction: 'inbound',
    // The newest activity (the seeded calls run a few minutes ahead, as phone clocks may).
    status: 'no-answer', started_at: at(280), ended_at: at(290),
  });
  await lookAgain();
  await page.waitForFunction(() => document.querySelector('.conversation-row .name')?.textContent === 'Live Caller');
  assert.equal(await page.locator('.conversation-row').count(), before + 1);
  assert.equal(await page.locator('.conversation-row').first().locator('.last').innerText(), 'Missed call');

  await page.goto(`${server.base}/conversations/${data.graceConversation}`);
  await server.sms('+14155550102', data.sales.e164, 'Are you open on Saturday?');
  await lookAgain();
  await page.locator('.sms-entry').filter({ hasText: 'Are you open on Saturday?' }).waitFor();
  assert.equal(await page.locator('.timeline > li.entry').last().innerText().then((t) => t.includes('Are you open on Saturday?')), true);
});

test('a conversation shows as unread until it is opened or marked as read', async () => {
  const page = admin;
  const at = (s) => new Date(Date.now() + s * 1000).toISOString();
  const call = (start) => server.api('POST', '/api/v1/calls', {
    number: data.sales.e164, contact_phone: '+14155550188', contact_name: 'Unread Caller', direction: 'inbound',
    status: 'answered', started_at: at(start), answered_at: at(start + 2), ended_at: at(start + 20),
  });
  const first = await call(292);
  const row = page.locator('.conversation-list li').filter({ hasText: 'Unread Caller' });
  await page.goto(`${server.base}/`);
  await row.getByRole('img', { name: 'Unread' }).waitFor();
  await row.getByRole('button', { name: 'Mark as read' }).click();
  await page.waitForFunction(() => ![...document.querySelectorAll('.conversation-list li.unread')].some((li) => li.textContent.includes('Unread Caller')));
  await page.reload();
  assert.equal(await row.getByRole('img', { name: 'Unread' }).count(), 0, 'still read after a reload');

  // Something new: unread again, until the conversation is opened.
  await call(296);
  await page.reload();
  await row.getByRole('img', { name: 'Unread' }).waitFor();
  await row.getByRole('link').click();
  await page.waitForURL(`${server.base}/conversations/${first.conversation_id}`);
  await page.goto(`${server.base}/`);
  await row.waitFor();
  assert.equal(await row.getByRole('img', { name: 'Unread' }).count(), 0, 'read once opened');
});

test('Quick Filters narrow by direction, status and more; each filter shows as a chip that removes it', async () => {
  const page = admin;
  const at = (s) => new Date(Date.now() + s * 1000).toISOString();
  await server.api('POST', '/api/v1/calls', {
    number: data.support.e164, contact_phone: '+14155550199', contact_name: 'Nobody Answered', direction: 'inbound',
    status: 'no-answer', started_at: at(250), ended_at: at(270),
  });
  await page.goto(`${server.base}/`);
  const names = () => page.locator('.conversation-row .name').allInnerTexts();
  const everyone = (await names()).length;
  await page.getByRole('button', { name: 'Quick Filters' }).click();
  await page.getByRole('group', { name: 'Status' }).getByRole('radio', { name: 'Missed' }).check();
  await page.waitForFunction(() => document.querySelectorAll('.chips .chip').length === 1);
  assert.ok((await names()).includes('Nobody Answered'));
  assert.ok(!(await names()).includes('Grace Hopper'), 'Grace answered');
  assert.match(page.url(), /status=missed/);
  // Another filter that nothing else matches: the empty list names the filters.
  await page.getByRole('button', { name: 'Quick Filters' }).click();
  await page.getByRole('group', { name: 'Direction' }).getByRole('radio', { name: 'Outbound' }).check();
  await page.getByText('No conversations match Outbound + Missed.').waitFor();
  await page.getByRole('link', { name: 'Remove filter: Outbound' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.chips .chip').length === 1);
  assert.ok((await names()).includes('Nobody Answered'));
  // On a number; removing the last chip shows everyone again.
  await page.getByRole('button', { name: 'Quick Filters' }).click();
  await page.getByLabel('Number').selectOption({ label: 'Support line' });
  await page.getByRole('link', { name: 'Remove filter: On Support line' }).waitFor();
  assert.deepEqual(await names(), ['Nobody Answered'], 'the one missed call on the Support line');
  await page.keyboard.press('Escape');
  await page.getByRole('link', { name: 'Remove filter: On Support line' }).click();
  await page.getByRole('link', { name: 'Remove filter: Missed' }).click();
  await page.waitForFunction((n) => document.querySelectorAll('.conversation-row').length >= n, everyone);
  assert.equal(await page.locator('.chips').count(), 0);
  // Who took the call: Dana answered Grace's (Ada's conversation was deleted earlier).
  await page.getByRole('button', { name: 'Quick Filters' }).click();
  await page.getByLabel('Handled by').selectOption({ label: 'Dana Agent' });
  await page.getByRole('link', { name: 'Remove filter: Handled by Dana Agent' }).waitFor();
  assert.deepEqual(await names(), ['Grace Hopper']);
  await page.keyboard.press('Escape');
  await page.getByRole('link', { name: 'Remove filter: Handled by Dana Agent' }).click();
  await page.waitForFunction(() => document.querySelectorAll('.chips').length === 0);
  // Days (UTC): nothing happened five days ago; the last days had everything.
  const dayOf = (offset) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  await page.goto(`${server.base}/?until=${dayOf(-5)}`);
  await page.getByText(`No conversations match To ${dayOf(-5)}.`).waitFor();
  await page.goto(`${server.base}/?since=${dayOf(-3)}&until=${dayOf(1)}`);
  assert.ok((await names()).includes('Nobody Answered'));
  // Unread only: what this user has not opened.
  await page.goto(`${server.base}/conversations/${data.graceConversation}`);
  await page.goto(`${server.base}/?unread=true`);
  await page.getByRole('link', { name: 'Remove filter: Unread' }).waitFor();
  assert.ok(!(await names()).includes('Grace Hopper'), 'just opened');
  assert.ok((await names()).includes('Nobody Answered'), 'never opened');
  const bad = await page.goto(`${server.base}/?status=maybe`);
  assert.equal(bad.status(), 400);
});

test('the contact\'s name and email are edited from the conversation', async () => {
  const page = admin;
  await page.goto(`${server.base}/conversations/${data.graceConversation}`);
  await page.getByRole('button', { name: 'Edit contact' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit contact' });
  await dialog.getByLabel('Name').fill('   ');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'A name must be 1 to 200 characters.' }).waitFor();
  await dialog.getByLabel('Name').fill('Grace B. Hopper');
  await dialog.getByLabel('Email').fill('grace@example.com');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { level: 1, name: 'Grace B. Hopper' }).waitFor();
  assert.match(await page.locator('.contact-header .phone').innerText(), /grace@example\.com/);
  // As it was, for the tests after this one.
  await server.api('PATCH', `/api/v1/contacts/${data.grace.id}`, { name: 'Grace Hopper', email: null });
});
