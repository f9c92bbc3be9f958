// Starts the real callvault binary on a fresh data folder and seeds it through its API and
// its Twilio webhook, the way a business's phone system and provider would.

import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const binary = process.env.CALLVAULT_BIN;
export const model = process.env.CALLVAULT_TEST_MODEL;
if (!binary) throw new Error('set CALLVAULT_BIN to the built callvault binary');
if (!model) throw new Error('set CALLVAULT_TEST_MODEL to a Whisper model folder');

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'ui-test-auth-token';

export const ADMIN = { email: 'admin@example.com', password: 'admin password 1', name: 'Alex Admin' };

function run(dataDir, args, input) {
  const out = spawnSync(binary, ['--data-dir', dataDir, ...args], { input, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`callvault ${args.join(' ')} failed: ${out.stderr}`);
  return out.stdout.trim();
}

/** A port free on loopback now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** A running server with an admin token. Its public URL is the address the browser opens
 * (callvault accepts changes made with the session cookie only from its public URL). */
export async function startServer() {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'callvault-ui-'));
  run(dataDir, ['user', 'add', '--email', ADMIN.email, '--name', ADMIN.name, '--admin'], `${ADMIN.password}\n`);
  const token = run(dataDir, ['token', 'create', '--email', ADMIN.email, '--name', 'ui tests']);
  const child = spawn(binary, [
    '--data-dir', dataDir, 'serve', '--listen', `127.0.0.1:${port}`, '--public-url', publicUrl,
    '--asr-model', model, '--twilio-account-sid', ACCOUNT_SID, '--twilio-auth-token', AUTH_TOKEN,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const found = seen.match(/serving on (http:\/\/\S+)/);
      if (found) resolve(found[1]);
    });
    child.on('exit', (code) => reject(new Error(`callvault serve exited with ${code}`)));
  });
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let messages = 0;
  const server = {
    base,
    async api(method, path, body, headers = {}) {
      const init = { method, headers: { Authorization: `Bearer ${token}`, ...headers } };
      if (body instanceof Uint8Array) {
        init.body = body;
      } else if (body !== undefined) {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      const response = await fetch(`${base}${path}`, init);
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    /** An inbound text message, signed as Twilio signs its webhooks. */
    async sms(from, to, body) {
      messages += 1;
      const params = { AccountSid: ACCOUNT_SID, MessageSid: `SM${String(messages).padStart(32, '0')}`, From: from, To: to, Body: body };
      const url = `${publicUrl}/webhooks/twilio/sms`;
      const signed = Object.keys(params).sort().reduce((acc, key) => acc + key + params[key], url);
      const signature = createHmac('sha1', AUTH_TOKEN).update(signed).digest('base64');
      const response = await fetch(`${base}/webhooks/twilio/sms`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature },
        body: new URLSearchParams(params),
      });
      if (!response.ok) throw new Error(`sms webhook: ${response.status} ${await response.text()}`);
    },
    /** An API token for a user, made on the command line as an admin would. */
    tokenFor(email, name) {
      return run(dataDir, ['token', 'create', '--email', email, '--name', name]);
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

export function fixture(name) {
  return new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)));
}
