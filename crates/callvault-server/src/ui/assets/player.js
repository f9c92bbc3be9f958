// The recording player: play/pause, restart, ±10 s, speed, mute, and a seek bar drawn as the
// waveform from the stored peaks. The seek bar is a native range input laid over the
// drawing, so clicking, dragging and the keyboard work as they do for any slider. One
// recording plays at a time; where each was left is kept for the browser session; a recording
// that fails to load says so and offers to try again.

import { api, clock, setIcon } from './app.js';

const SEEK_STEP_S = 5;
const SKIP_S = 10;

/** Every player's audio on the page: starting one pauses the others. */
const everyAudio = new Set();
/** The player J, K and L act on: the last one played (or the first). */
let active = null;

/** Where a recording was left, for this browser session. */
const positions = {
  key: (id) => `callvault.position.${id}`,
  get(id) {
    try {
      return Number(sessionStorage.getItem(this.key(id))) || 0;
    } catch {
      return 0;
    }
  },
  set(id, seconds) {
    try {
      sessionStorage.setItem(this.key(id), String(Math.floor(seconds * 10) / 10));
    } catch {
      // Storage may be off; the position is a convenience.
    }
  },
};

// J and L skip 10 s back and forward, K plays or pauses, wherever the focus is but in a field.
document.addEventListener('keydown', (event) => {
  if (!active || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest('input, textarea, select, [contenteditable]')) return;
  const key = event.key.toLowerCase();
  if (key === 'j') active.skip(-SKIP_S);
  else if (key === 'l') active.skip(SKIP_S);
  else if (key === 'k') active.toggle();
  else return;
  event.preventDefault();
});

/** Bars of the waveform: for each, the loudest swing of each channel, 0..1. */
function bars(peaks, count) {
  const channels = peaks?.channels ?? [];
  const buckets = channels[0]?.max.length ?? 0;
  const out = [];
  for (let i = 0; i < count; i++) {
    const from = Math.floor((i * buckets) / count);
    const to = Math.max(from + 1, Math.floor(((i + 1) * buckets) / count));
    out.push(channels.map((ch) => {
      let level = 0;
      for (let b = from; b < to && b < buckets; b++) {
        level = Math.max(level, Math.abs(ch.max[b]), Math.abs(ch.min[b]));
      }
      return level / 127;
    }));
  }
  return out;
}

function drawWave(canvas, peaks, fraction, marks = []) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext('2d');
  ctx.scale(ratio, ratio);
  const style = getComputedStyle(canvas);
  const played = style.getPropertyValue('--wave-played').trim() || '#2f5bea';
  const rest = style.getPropertyValue('--wave').trim() || '#b9c3d3';
  const bar = 3;
  const gap = 1;
  const count = Math.max(1, Math.floor(width / (bar + gap)));
  const mid = height / 2;
  // Spans redaction covered with a tone: a band behind the bars.
  ctx.fillStyle = style.getPropertyValue('--wave-redacted').trim() || 'rgba(214, 158, 0, 0.35)';
  for (const mark of marks) {
    ctx.fillRect(mark.from * width, 0, Math.max(2, (mark.to - mark.from) * width), height);
  }
  bars(peaks, count).forEach((levels, i) => {
    const x = i * (bar + gap);
    ctx.fillStyle = (i + 0.5) / count <= fraction ? played : rest;
    // Two channels: the contact above the line, the team member below. One: mirrored.
    const up = Math.max(1, (levels[0] ?? 0) * (mid - 1));
    const down = Math.max(1, (levels[1] ?? levels[0] ?? 0) * (mid - 1));
    ctx.fillRect(x, mid - up, bar, up + down);
  });
}

/** Wires one `.player` element; returns what the transcript needs to follow it. */
export function setUpPlayer(root) {
  const audio = root.querySelector('audio');
  const play = root.querySelector('.play');
  const restart = root.querySelector('.restart');
  const mute = root.querySelector('.mute');
  const speed = root.querySelector('select');
  const seek = root.querySelector('.seek');
  const canvas = root.querySelector('canvas');
  const elapsed = root.querySelector('.elapsed');
  const total = root.querySelector('.total');
  let duration = Number(root.dataset.duration) || 0;
  let peaks = null;
  let dragging = false;

  let marks = [];
  const redraw = () => drawWave(canvas, peaks, duration ? audio.currentTime / duration : 0, marks);
  const showTime = () => {
    if (!dragging) seek.value = String(audio.currentTime);
    elapsed.textContent = clock(audio.currentTime);
    seek.setAttribute('aria-valuetext', `${clock(audio.currentTime)} of ${clock(duration)}`);
    redraw();
  };
  // The place is kept from the moment it is restored (loading reports 0:00 first).
  let resumed = false;
  const remember = () => {
    if (resumed) positions.set(root.dataset.recording, audio.currentTime);
  };
  const seekTo = (seconds) => {
    audio.currentTime = Math.min(Math.max(0, seconds), duration || seconds);
    showTime();
    remember();
  };
  const toggle = () => (audio.paused ? audio.play() : audio.pause());
  const skip = (by) => seekTo(audio.currentTime + by);
  const recording = root.dataset.recording;
  const loadError = root.querySelector('.load-error');
  const controls = { toggle, skip };
  everyAudio.add(audio);
  active ??= controls;

  // Back where it was left this session (unless that was the end), once the audio's length is
  // known: now, or when its metadata arrives.
  const resume = () => {
    if (resumed || !(audio.readyState >= 1)) return;
    resumed = true;
    const left = positions.get(recording);
    if (left > 0 && left < (duration || audio.duration) - 1 && audio.currentTime === 0) seekTo(left);
  };

  for (const button of root.querySelectorAll('.jump')) {
    button.addEventListener('click', () => skip(Number(button.dataset.skip)));
  }
  // The audio may have failed before this script ran.
  const showLoadError = () => {
    loadError.hidden = !audio.error;
  };
  audio.addEventListener('error', showLoadError);
  showLoadError();
  loadError.querySelector('.retry').addEventListener('click', () => {
    loadError.hidden = true;
    audio.load();
  });

  play.addEventListener('click', toggle);
  restart.addEventListener('click', () => {
    seekTo(0);
    audio.play();
  });
  mute.addEventListener('click', () => {
    audio.muted = !audio.muted;
  });
  speed.addEventListener('change', () => {
    audio.playbackRate = Number(speed.value);
  });
  seek.addEventListener('input', () => {
    dragging = true;
    elapsed.textContent = clock(Number(seek.value));
    drawWave(canvas, peaks, duration ? Number(seek.value) / duration : 0, marks);
  });
  seek.addEventListener('change', () => {
    dragging = false;
    seekTo(Number(seek.value));
  });
  seek.addEventListener('keydown', (event) => {
    const by = { ArrowRight: SEEK_STEP_S, ArrowUp: SEEK_STEP_S, ArrowLeft: -SEEK_STEP_S, ArrowDown: -SEEK_STEP_S }[event.key];
    if (by === undefined) return;
    event.preventDefault();
    seekTo(audio.currentTime + by);
  });
  // Space toggles play anywhere in the player except on controls that use it themselves.
  root.addEventListener('keydown', (event) => {
    if (event.key !== ' ' || event.target.closest('button, a, select, input[type=search]')) return;
    event.preventDefault();
    toggle();
  });

  audio.addEventListener('play', () => {
    active = controls;
    for (const other of everyAudio) {
      if (other !== audio) other.pause();
    }
    play.setAttribute('aria-label', 'Pause');
    setIcon(play, 'pause');
  });
  audio.addEventListener('pause', () => {
    remember();
    play.setAttribute('aria-label', 'Play');
    setIcon(play, 'play');
  });
  audio.addEventListener('volumechange', () => {
    mute.setAttribute('aria-label', audio.muted ? 'Unmute' : 'Mute');
    mute.setAttribute('aria-pressed', String(audio.muted));
    setIcon(mute, audio.muted ? 'muted' : 'volume');
  });
  audio.addEventListener('ratechange', () => {
    const option = [...speed.options].find((o) => Number(o.value) === audio.playbackRate);
    if (option) speed.value = option.value;
  });
  audio.addEventListener('loadedmetadata', () => {
    if (Number.isFinite(audio.duration) && audio.duration > 0) {
      duration = audio.duration;
      seek.max = String(duration);
      total.textContent = clock(duration);
      showTime();
    }
    resume();
  });
  audio.addEventListener('timeupdate', () => {
    showTime();
    remember();
  });
  window.addEventListener('pagehide', remember);
  audio.addEventListener('seeked', showTime);
  audio.addEventListener('ended', showTime);

  resume();
  api('GET', `/api/v1/recordings/${root.dataset.recording}`)
    .then((recording) => {
      peaks = recording.peaks;
      const spans = recording.redactions ?? [];
      const length = recording.duration_ms || 1;
      marks = spans.map((s) => ({ from: s.start_ms / length, to: s.end_ms / length }));
      if (spans.length) {
        const note = document.createElement('p');
        note.className = 'redacted-note';
        note.textContent = `Payment or ID details were replaced by a tone: ${spans
          .map((s) => `${clock(s.start_ms / 1000)}–${clock(s.end_ms / 1000)}`)
          .join(', ')}`;
        root.append(note);
      }
      redraw();
    })
    .catch(() => {});
  new ResizeObserver(redraw).observe(canvas);

  return { audio, seekTo };
}
