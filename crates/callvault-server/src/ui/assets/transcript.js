// The Transcript panel: asks for a transcript on first open, shows its progress, then the
// lines with speaker and time. Clicking a line plays from there; the line being played is
// highlighted and kept in view; the find box narrows the lines and marks the words.

import { api, clock } from './app.js';

const POLL_MS = 1500;

const REDACTED = '[redacted]';

// Text with each [redacted] (what redaction hid) set apart, so it reads as a gap, not words.
function appendText(element, text) {
  const parts = text.split(REDACTED);
  parts.forEach((part, i) => {
    if (i > 0) {
      const gap = document.createElement('span');
      gap.className = 'redacted';
      gap.title = 'Payment or ID details, redacted';
      gap.textContent = REDACTED;
      element.append(gap);
    }
    if (part) element.append(part);
  });
}

function markWords(element, text, needle) {
  element.replaceChildren();
  if (!needle) {
    appendText(element, text);
    return 0;
  }
  const lower = text.toLowerCase();
  let at = 0;
  let found = 0;
  for (let hit = lower.indexOf(needle); hit !== -1; hit = lower.indexOf(needle, at)) {
    element.append(text.slice(at, hit));
    const mark = document.createElement('mark');
    mark.textContent = text.slice(hit, hit + needle.length);
    element.append(mark);
    at = hit + needle.length;
    found++;
  }
  element.append(text.slice(at));
  return found;
}

export function setUpTranscript(root, player) {
  const toggle = root.querySelector('.transcript-toggle');
  const panel = root.querySelector('.transcript');
  const status = panel.querySelector('.transcript-status');
  const progress = panel.querySelector('.transcript-progress');
  const list = panel.querySelector('.lines');
  const find = panel.querySelector('.find');
  const findCount = panel.querySelector('.find-count');
  const recording = root.dataset.recording;
  let segments = [];
  let lines = [];
  let loading = false;
  let current = -1;

  function render() {
    // The contact (channel 0) on the left in one colour, the team member (channel 1) on the
    // right in another, in every call; a transcript older than channels goes by who spoke first.
    const speakers = [...new Set(segments.map((s) => s.speaker))];
    const side = (segment) => (segment.channel ?? speakers.indexOf(segment.speaker)) === 0 ? 'left' : 'right';
    lines = segments.map((segment) => {
      const item = document.createElement('li');
      const line = document.createElement('button');
      line.type = 'button';
      line.className = `line ${side(segment)}`;
      line.dataset.start = segment.start;
      line.innerHTML = '<span class="at"></span><span class="speaker"></span><span class="text"></span>';
      line.querySelector('.at').textContent = clock(segment.start);
      line.querySelector('.speaker').textContent = segment.speaker;
      line.querySelector('.text').textContent = segment.text;
      line.addEventListener('click', () => {
        player.seekTo(segment.start);
        player.audio.play();
      });
      item.append(line);
      return { item, line, segment };
    });
    list.replaceChildren(...lines.map((l) => l.item));
    status.textContent = segments.length ? '' : 'No speech was found in this recording.';
    applyFind();
    follow();
  }

  function applyFind() {
    const needle = find.value.trim().toLowerCase();
    let shown = 0;
    let hits = 0;
    for (const { item, line, segment } of lines) {
      const found = markWords(line.querySelector('.text'), segment.text, needle);
      const match = !needle || found > 0 || segment.speaker.toLowerCase().includes(needle);
      item.hidden = !match;
      if (match) shown++;
      hits += found;
    }
    findCount.textContent = needle ? `${hits} match${hits === 1 ? '' : 'es'} in ${shown} line${shown === 1 ? '' : 's'}` : '';
  }

  // The line being played: the last one that started at or before the playhead.
  function follow() {
    const t = player.audio.currentTime;
    let index = -1;
    segments.forEach((s, i) => {
      if (s.start <= t + 0.05) index = i;
    });
    if (index === current) return;
    lines[current]?.line.removeAttribute('aria-current');
    current = index;
    const now = lines[current];
    if (!now) return;
    now.line.setAttribute('aria-current', 'true');
    if (!panel.hidden && !now.item.hidden) {
      const top = now.item.offsetTop - list.offsetTop;
      if (top < list.scrollTop || top + now.item.offsetHeight > list.scrollTop + list.clientHeight) {
        list.scrollTo({ top: top - list.clientHeight / 3, behavior: 'smooth' });
      }
    }
  }

  function show(transcript) {
    progress.hidden = true;
    if (transcript.status === 'done') {
      segments = transcript.segments;
      render();
      return true;
    }
    if (transcript.status === 'failed') {
      status.textContent = `The transcript failed: ${transcript.error ?? 'unknown reason'}. `;
      const again = document.createElement('button');
      again.type = 'button';
      again.textContent = 'Try again';
      again.addEventListener('click', () => load(true));
      status.append(again);
      return true;
    }
    if (transcript.status === 'running') {
      status.textContent = `Transcribing… ${Math.round(transcript.progress * 100)}%`;
      progress.hidden = false;
      progress.value = transcript.progress;
    } else {
      status.textContent = 'Waiting for its turn to be transcribed…';
    }
    return false;
  }

  async function load(ask) {
    if (loading) return;
    loading = true;
    status.textContent = 'Loading the transcript…';
    try {
      let transcript = await api('GET', `/api/v1/recordings/${recording}/transcript`);
      if (ask || transcript.status === 'none') {
        transcript = await api('POST', `/api/v1/recordings/${recording}/transcript`);
      }
      while (!show(transcript)) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        transcript = await api('GET', `/api/v1/recordings/${recording}/transcript`);
      }
    } catch (error) {
      status.textContent = error.message;
    } finally {
      loading = false;
    }
  }

  toggle.addEventListener('click', () => {
    const open = panel.hidden;
    panel.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open && !segments.length) load(false);
    if (open) follow();
  });
  find.addEventListener('input', applyFind);
  player.audio.addEventListener('timeupdate', follow);
  player.audio.addEventListener('seeked', follow);
}
