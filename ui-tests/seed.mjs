// The team, numbers, contacts, calls, a real two-channel recording and a text message the
// browser tests look at.

import { fixture } from './harness.mjs';

// Whether a call is recorded follows its number's setting when the call started, so the calls
// start after the numbers exist: within the next minutes, as far as phone clocks may run ahead.
const secondsFromNow = (s) => new Date(Date.now() + s * 1000).toISOString();

export async function seed(server) {
  const sam = await server.api('POST', '/api/v1/users', {
    email: 'sam@example.com', name: 'Sam Seller', password: 'sam password 1',
    role: 'user', scope: 'assigned', can_download: false,
  });
  const dana = await server.api('POST', '/api/v1/users', {
    email: 'dana@example.com', name: 'Dana Agent', password: 'dana password 1', role: 'user', scope: 'all',
  });
  const sales = await server.api('POST', '/api/v1/numbers', {
    e164: '+14155550100', label: 'Sales line', provider: 'pbx', call_recording: true,
    consent_announcement: 'This call may be recorded.',
  });
  const support = await server.api('POST', '/api/v1/numbers', {
    e164: '+14155550199', label: 'Support line', provider: 'pbx', call_recording: false,
  });
  const ada = await server.api('POST', '/api/v1/contacts', { name: 'Ada Lovelace', phone: '+14155550101', assigned_user_ids: [sam.id] });
  const grace = await server.api('POST', '/api/v1/contacts', { name: 'Grace Hopper', phone: '+14155550102' });

  const missed = await server.api('POST', '/api/v1/calls', {
    number: sales.e164, contact_phone: ada.phone, direction: 'outbound', status: 'no-answer',
    started_at: secondsFromNow(1), ended_at: secondsFromNow(20),
  });
  const recorded = await server.api('POST', '/api/v1/calls', {
    number: sales.e164, contact_phone: ada.phone, direction: 'inbound', status: 'answered',
    started_at: secondsFromNow(60), answered_at: secondsFromNow(62), ended_at: secondsFromNow(86),
    handled_by_email: dana.email,
  });
  const { recording_id: recordingId } = await server.api(
    'PUT', `/api/v1/calls/${recorded.id}/recording`, fixture('call-turns-2ch.mp3'), { 'Content-Type': 'audio/mpeg' },
  );
  const unrecorded = await server.api('POST', '/api/v1/calls', {
    number: support.e164, contact_phone: grace.phone, direction: 'inbound', status: 'answered',
    started_at: secondsFromNow(120), answered_at: secondsFromNow(125), ended_at: secondsFromNow(245),
    handled_by_email: dana.email,
  });
  await server.sms('+14155550103', sales.e164, 'Hi, could you call me back about the invoice?');
  const inbox = await server.api('GET', '/api/v1/conversations');
  const texter = inbox.items.find((c) => c.contact.phone === '+14155550103');
  return {
    sam, dana, sales, support, ada, grace, recordingId,
    adaConversation: recorded.conversation_id,
    graceConversation: unrecorded.conversation_id,
    texterConversation: texter.id,
    missedCall: missed.id,
  };
}
