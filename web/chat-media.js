// Chat attachments and voice messages. ComposerMedia owns the composer's pending list: files
// chosen with the attach button, dropped on the conversation or pasted upload at once (with
// progress), and a voice message records with MediaRecorder and, once stopped, is handed to the
// composer's outbox to upload and send as its own message in the conversation it was recorded
// in (chat-attachments.js draws a message's attachments). The server
// is the authority on sizes and types (toc/chat/services/attachments.py): its refusals are
// shown on the item they concern.

import { csrfToken, isSignedOut, signInAgain } from './api.js';
import { formatBytes, formatDuration, IMAGE_TYPES } from './chat-attachments.js';
import { h, icon } from './dom.js';

const MAX_FILES = 10; // files in one message (toc/chat/envelope.py)
const MAX_RECORDING_SECONDS = 5 * 60;
const MIN_RECORDING_SECONDS = 0.5; // shorter is a double click, not a message
const VOICE_TYPE = 'audio/webm;codecs=opus';
const VOICE_EXTENSIONS = { 'audio/webm': 'webm', 'audio/ogg': 'ogg', 'audio/mp4': 'm4a', 'audio/mpeg': 'mp3', 'audio/wav': 'wav' };

function kindOfFile(file) {
  return IMAGE_TYPES.has(file.type) ? 'image' : 'file';
}

function hasFiles(event) {
  return Boolean(event.dataTransfer) && [...event.dataTransfer.types].includes('Files');
}

// ---- uploading one file ----

export class UploadError extends Error {
  constructor(message, { retryable = false, aborted = false } = {}) {
    super(message);
    this.retryable = retryable;
    this.aborted = aborted;
  }
}

function refusal(request) {
  const data = request.response && typeof request.response === 'object' ? request.response : {};
  const errors = data.errors || {};
  if (errors.file && errors.file.length) return String(errors.file[0]);
  const messages = Object.values(errors).flat();
  if (messages.length) return messages.join(' ');
  if (data.detail) return String(data.detail);
  if (request.status === 413) return 'The file is too large to send.';
  return `The upload failed (error ${request.status}).`;
}

// POSTs `file` into the conversation with XMLHttpRequest, which (unlike fetch) reports upload
// progress. Resolves to the AttachmentRef; rejects with an UploadError (`retryable` when
// trying again later may work: connection lost, server trouble, signed out, too many requests).
export function upload({ conversationId, file, kind, durationSeconds = null, onProgress }) {
  const request = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    request.open('POST', `/api/chat/conversations/${encodeURIComponent(conversationId)}/attachments/`);
    request.responseType = 'json';
    request.setRequestHeader('Accept', 'application/json');
    request.setRequestHeader('X-CSRFToken', csrfToken());
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener('load', () => {
      if (request.status === 201 || request.status === 200) {
        const { url, ...ref } = request.response || {};
        if (ref.id) resolve(ref);
        else reject(new UploadError('The server gave an unexpected answer.', { retryable: true }));
        return;
      }
      const detail = request.response && request.response.detail;
      const signedOut = isSignedOut(request.status, detail);
      if (signedOut) signInAgain();
      const retryable = signedOut || request.status >= 500 || request.status === 408 || request.status === 429;
      reject(new UploadError(refusal(request), { retryable }));
    });
    request.addEventListener('error', () => reject(new UploadError('The upload failed: the connection was lost.', { retryable: true })));
    request.addEventListener('abort', () => reject(new UploadError('Upload cancelled.', { aborted: true })));
    const form = new FormData();
    form.append('file', file, file.name);
    form.append('kind', kind);
    if (durationSeconds !== null) form.append('duration_seconds', durationSeconds.toFixed(2));
    request.send(form);
  });
  return { promise, abort: () => request.abort() };
}

// ---- the microphone ----

function microphoneProblem(error) {
  const name = error && error.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return 'TOC may not use your microphone. Allow microphone access for this site in your browser to record voice messages.';
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return 'No microphone was found. Connect one to record voice messages.';
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return 'Your microphone could not be started: another application may be using it.';
  }
  return 'Your microphone could not be started.';
}

function defaultMicrophone() {
  return navigator.mediaDevices.getUserMedia({ audio: true });
}

function voiceFileName(type) {
  const now = new Date();
  const two = (number) => String(number).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}-${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  return `voice-${stamp}.${VOICE_EXTENSIONS[type] || 'webm'}`;
}

// ---- the composer's pending list ----

export class ComposerMedia {
  // `getConversationId()` names the open conversation (null when none is open);
  // `onVoiceMessage({ file, durationSeconds, conversationId })` uploads and sends a finished
  // voice message in the conversation it was recorded in; `onChange()` follows pending() and
  // isUploading(). `openMicrophone()` (optional, e.g. AudioDevices#openMicrophone) opens the
  // microphone the user chose; without it the system default records.
  constructor({ getConversationId, onVoiceMessage, onChange, openMicrophone = defaultMicrophone }) {
    this.getConversationId = getConversationId;
    this.onVoiceMessage = onVoiceMessage;
    this.onChange = onChange || (() => {});
    this.openMicrophone = openMicrophone;
    this.items = []; // {file, kind, state: 'uploading'|'done'|'error', ref, request, element, ...}
    this.recording = null;
    this.note = null;
    this.hideOverlayTimer = 0;

    this.pane = document.getElementById('chat-conversation');
    this.composer = document.getElementById('chat-composer');
    this.list = document.getElementById('chat-pending');
    this.fileInput = document.getElementById('chat-file-input');
    this.attachButton = document.getElementById('chat-attach-button');
    this.voiceButton = document.getElementById('chat-voice-button');
    this.overlay = document.getElementById('chat-drop-overlay');

    this.attachButton.addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      this.addFiles([...this.fileInput.files]);
      this.fileInput.value = ''; // choosing the same file again is a new change
    });
    this.voiceButton.setAttribute('aria-pressed', 'false');
    this.voiceButton.addEventListener('click', () => this.toggleRecording());
    this.composer.addEventListener('paste', (event) => this.paste(event));
    document.addEventListener('keydown', (event) => this.escape(event));
    this.listenForDrops();
    if (!this.overlay.childElementCount) {
      this.overlay.append(h('div', { class: 'chat-drop-message' }, icon('paperclip'), h('span', {}, 'Drop files to attach them')));
    }
    this.paintList();
  }

  pending() {
    return this.items.filter((item) => item.state === 'done').map((item) => item.ref);
  }

  isUploading() {
    return Boolean(this.recording) || this.items.some((item) => item.state === 'uploading');
  }

  // After a send: the finished files are in the message now; refusals go with them. Uploads
  // still running stay.
  clear() {
    for (const item of [...this.items]) {
      if (item.state !== 'uploading') this.drop(item);
    }
    this.dismissNote();
    this.paintList();
    this.onChange();
  }

  // On switching conversation: no file carries over. A voice message already stopped is still
  // sent where it was recorded; one still recording is cancelled, and the note says so.
  reset() {
    for (const item of [...this.items]) this.drop(item);
    this.dismissNote();
    const recording = this.recording;
    if (recording && recording.state === 'stopping') this.endRecording({ cancelled: false }); // recorded() sends it
    else if (recording) this.endRecording({ cancelled: true });
    this.hideOverlay();
    this.paintList();
    this.onChange();
    if (recording && recording.state !== 'stopping') this.showNote('Recording cancelled: the voice message was not sent.');
  }

  // ---- adding files ----

  addFiles(files) {
    this.dismissNote();
    const conversationId = this.getConversationId();
    if (!conversationId || !files.length) return;
    const room = MAX_FILES - this.items.filter((item) => item.kind !== 'voice' && item.state !== 'error').length;
    const taken = files.slice(0, Math.max(0, room));
    if (taken.length < files.length) {
      this.showNote(`At most ${MAX_FILES} files go in one message: ${files.length - taken.length === 1 ? 'one was' : `${files.length - taken.length} were`} left out.`);
    }
    for (const file of taken) this.start({ file, kind: kindOfFile(file), conversationId });
    this.onChange();
  }

  paste(event) {
    const data = event.clipboardData;
    // Office programs put a picture of the text beside the text: then the text is meant.
    if (!data || !data.files.length || data.types.includes('text/plain')) return;
    event.preventDefault();
    this.addFiles([...data.files]);
  }

  start({ file, kind, conversationId, durationSeconds = null }) {
    const item = { file, kind, conversationId, durationSeconds, state: 'uploading', ref: null, request: null, error: '', retryable: false };
    item.element = this.itemElement(item);
    this.items.push(item);
    const trailer = this.recording ? this.recording.element : this.note; // files go above these
    this.list.insertBefore(item.element, trailer && trailer.parentNode === this.list ? trailer : null);
    this.paintList();
    this.send(item);
    return item;
  }

  send(item) {
    item.state = 'uploading';
    item.error = '';
    this.paintItem(item, 0);
    const request = upload({
      conversationId: item.conversationId, file: item.file, kind: item.kind, durationSeconds: item.durationSeconds,
      onProgress: (fraction) => this.paintItem(item, fraction),
    });
    item.request = request;
    request.promise.then((ref) => {
      if (item.request !== request) return;
      item.request = null;
      item.ref = ref;
      item.state = 'done';
      this.paintItem(item);
      this.onChange();
    }, (error) => {
      if (item.request !== request || error.aborted) return;
      item.request = null;
      item.state = 'error';
      item.error = error.message;
      item.retryable = error.retryable;
      this.paintItem(item);
      this.onChange();
    });
  }

  retry(item) {
    this.send(item);
    item.parts.remove.focus(); // the Retry button hides while it uploads
    this.onChange();
  }

  // Forgets an item, cancelling its upload if it is still running.
  drop(item) {
    if (item.request) {
      const { abort } = item.request;
      item.request = null;
      abort();
    }
    if (item.previewUrl) URL.revokeObjectURL(item.previewUrl);
    item.element.remove();
    this.items = this.items.filter((each) => each !== item);
  }

  remove(item) {
    const at = this.items.indexOf(item);
    const hadFocus = item.element.contains(document.activeElement);
    this.drop(item);
    this.paintList();
    if (hadFocus) {
      const neighbour = this.items[at] || this.items[at - 1];
      (neighbour ? neighbour.element.querySelector('.chat-pending-remove') : this.attachButton).focus();
    }
    this.onChange();
  }

  // ---- drawing the pending list ----

  itemElement(item) {
    const name = item.file.name;
    let preview = icon(item.kind === 'voice' ? 'mic' : item.kind === 'image' ? 'image' : 'file');
    if (item.kind === 'image') {
      item.previewUrl = URL.createObjectURL(item.file);
      preview = h('img', { src: item.previewUrl, alt: '' });
    }
    const title = item.kind === 'voice' ? `Voice message · ${formatDuration(item.durationSeconds)}` : name;
    item.parts = {
      status: h('span', { class: 'chat-pending-status' }),
      progress: h('progress', { max: '100', 'aria-label': `Uploading ${title}` }),
      error: h('span', { class: 'chat-pending-error', role: 'alert' }),
      retry: h('button', { type: 'button', class: 'button small-button chat-pending-retry', onclick: () => this.retry(item) }, 'Retry'),
      remove: h('button', {
        type: 'button', class: 'icon-button chat-pending-remove', onclick: () => this.remove(item),
      }, icon('x')),
    };
    return h('li', { class: 'chat-pending-item', dataset: { kind: item.kind } },
      h('span', { class: 'chat-pending-preview', 'aria-hidden': 'true' }, preview),
      h('span', { class: 'chat-pending-text' },
        h('span', { class: 'chat-pending-name', title: name }, title),
        h('span', { class: 'chat-pending-meta' }, formatBytes(item.file.size), item.parts.status),
        item.parts.progress,
        item.parts.error),
      item.parts.retry,
      item.parts.remove);
  }

  // `fraction` (0..1) while uploading; the whole body sent means the server is storing it.
  paintItem(item, fraction = 0) {
    const { status, progress, error, retry, remove } = item.parts;
    const title = item.kind === 'voice' ? 'voice message' : item.file.name;
    item.element.dataset.state = item.state;
    progress.hidden = item.state !== 'uploading';
    if (fraction >= 1) progress.removeAttribute('value');
    else progress.value = Math.round(fraction * 100);
    status.textContent = item.state === 'uploading' ? ` · ${fraction >= 1 ? 'Finishing…' : `${Math.round(fraction * 100)}%`}` : '';
    error.textContent = item.state === 'error' ? item.error : '';
    error.hidden = item.state !== 'error';
    retry.hidden = !(item.state === 'error' && item.retryable);
    const label = item.state === 'uploading' ? `Cancel uploading ${title}` : `Remove ${title}`;
    remove.setAttribute('aria-label', label);
    remove.title = label;
  }

  paintList() {
    // The recording, then the note, stay last, below the files (moved only when out of place:
    // moving an element takes the focus out of it).
    const trailers = [this.recording && this.recording.element, this.note].filter(Boolean);
    const last = [...this.list.children].slice(-trailers.length);
    if (trailers.some((element, index) => last[index] !== element)) this.list.append(...trailers);
    this.list.hidden = !this.list.childElementCount;
  }

  showNote(text) {
    this.dismissNote();
    this.note = h('li', { class: 'chat-pending-note', role: 'alert' },
      h('span', {}, text),
      h('button', {
        type: 'button', class: 'icon-button', 'aria-label': 'Dismiss', title: 'Dismiss',
        onclick: () => {
          this.dismissNote();
          this.voiceButton.focus();
        },
      }, icon('x')));
    this.list.append(this.note);
    this.paintList();
    this.note.scrollIntoView({ block: 'nearest' }); // a long list scrolls
  }

  dismissNote() {
    if (!this.note) return;
    this.note.remove();
    this.note = null;
    this.paintList();
  }

  // ---- drag and drop ----

  listenForDrops() {
    const accepts = (event) => hasFiles(event) && Boolean(this.getConversationId()) && !this.pane.closest('[hidden]');
    const over = (event) => {
      if (!accepts(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      clearTimeout(this.hideOverlayTimer);
      this.overlay.hidden = false;
    };
    this.pane.addEventListener('dragenter', over);
    this.pane.addEventListener('dragover', over);
    // Moving between the pane's children leaves one and enters the next; only a leave with no
    // enter or over right after it is a leave of the pane.
    this.pane.addEventListener('dragleave', (event) => {
      if (!hasFiles(event)) return;
      clearTimeout(this.hideOverlayTimer);
      this.hideOverlayTimer = setTimeout(() => this.hideOverlay(), 80);
    });
    this.pane.addEventListener('drop', (event) => {
      if (!accepts(event)) return;
      event.preventDefault();
      this.hideOverlay();
      this.addFiles(this.droppedFiles(event.dataTransfer));
    });
    // Files dropped anywhere else would replace the page with the file.
    window.addEventListener('dragover', (event) => {
      if (!hasFiles(event) || event.defaultPrevented) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'none';
    });
    window.addEventListener('drop', (event) => {
      if (!hasFiles(event)) return;
      if (!event.defaultPrevented) event.preventDefault();
      this.hideOverlay();
    });
  }

  droppedFiles(dataTransfer) {
    const files = [...dataTransfer.files];
    const entries = [...(dataTransfer.items || [])].filter((each) => each.kind === 'file').map((each) => (each.webkitGetAsEntry ? each.webkitGetAsEntry() : null));
    if (entries.length !== files.length || !entries.some((entry) => entry && entry.isDirectory)) return files;
    if (entries.every((entry) => entry && entry.isDirectory)) this.showNote('Folders cannot be sent: drop the files in them, or a zip of the folder.');
    return files.filter((_, index) => !(entries[index] && entries[index].isDirectory));
  }

  hideOverlay() {
    clearTimeout(this.hideOverlayTimer);
    this.overlay.hidden = true;
  }

  // ---- voice messages ----

  toggleRecording() {
    if (!this.recording) this.startRecording();
    else if (this.recording.state === 'recording') this.stopRecording();
    else if (this.recording.state === 'starting') this.endRecording({ cancelled: true });
    // 'stopping': the last data is on its way, then it uploads.
  }

  async startRecording() {
    this.dismissNote();
    const conversationId = this.getConversationId();
    if (!conversationId) return;
    if (typeof MediaRecorder === 'undefined' || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.showNote('This browser cannot record voice messages.');
      return;
    }
    const recording = { state: 'starting', conversationId, stream: null, recorder: null, chunks: [], startedAt: 0, stoppedAt: 0, timers: [] };
    recording.element = this.recordingElement(recording);
    this.recording = recording;
    this.voiceButton.setAttribute('aria-pressed', 'true');
    this.paintList();
    recording.element.scrollIntoView({ block: 'nearest' });
    this.onChange();
    let stream;
    try {
      stream = await this.openMicrophone();
    } catch (error) {
      if (this.recording !== recording) return;
      this.endRecording({ cancelled: true });
      this.showNote(microphoneProblem(error));
      return;
    }
    if (this.recording !== recording) { // cancelled while the browser asked
      stream.getTracks().forEach((track) => track.stop());
      return;
    }
    recording.stream = stream;
    try {
      this.record(recording);
    } catch {
      this.endRecording({ cancelled: true });
      this.showNote('This browser cannot record voice messages.');
    }
  }

  record(recording) {
    const options = MediaRecorder.isTypeSupported(VOICE_TYPE) ? { mimeType: VOICE_TYPE } : {};
    const recorder = new MediaRecorder(recording.stream, options);
    recording.recorder = recorder;
    recorder.addEventListener('dataavailable', (event) => { if (event.data.size) recording.chunks.push(event.data); });
    // The length counts from when the recorder really started, not from when it was asked to.
    recorder.addEventListener('start', () => { recording.startedAt = performance.now(); });
    recorder.addEventListener('stop', () => this.recorded(recording));
    recorder.addEventListener('error', () => {
      if (this.recording !== recording) return;
      this.endRecording({ cancelled: true });
      this.showNote('The recording failed. Try again.');
    });
    recorder.start(1000);
    recording.startedAt = performance.now();
    recording.state = 'recording';
    recording.timers.push(setInterval(() => this.paintRecording(recording), 250));
    recording.timers.push(setTimeout(() => this.stopRecording(), MAX_RECORDING_SECONDS * 1000));
    this.paintRecording(recording);
  }

  // Stop and send.
  stopRecording() {
    const recording = this.recording;
    if (!recording || recording.state !== 'recording') return;
    recording.stoppedAt = performance.now();
    recording.state = 'stopping';
    recording.recorder.stop(); // its 'stop' event, after the last data, calls recorded()
  }

  // Ends the recording's UI and frees the microphone; a cancelled one is thrown away. One
  // stopping (not cancelled) still delivers its last data, then recorded() hands it over.
  endRecording({ cancelled }) {
    const recording = this.recording;
    if (!recording) return;
    recording.cancelled = cancelled;
    recording.timers.forEach((timer) => clearTimeout(timer));
    if (cancelled || recording.state !== 'stopping') this.freeMicrophone(recording);
    if (cancelled && recording.recorder && recording.recorder.state !== 'inactive') recording.recorder.stop();
    const hadFocus = recording.element.contains(document.activeElement);
    recording.element.remove();
    this.recording = null;
    this.voiceButton.setAttribute('aria-pressed', 'false');
    this.paintList();
    if (hadFocus) this.voiceButton.focus();
    this.onChange();
  }

  freeMicrophone(recording) {
    if (recording.stream) recording.stream.getTracks().forEach((track) => track.stop());
  }

  // The recorder's last data is in: the voice message goes to the outbox of the conversation
  // it was recorded in, even when another one is open by now.
  recorded(recording) {
    this.freeMicrophone(recording);
    if (recording.cancelled) return;
    const seconds = (recording.stoppedAt - recording.startedAt) / 1000;
    const type = (recording.recorder.mimeType || recording.chunks[0]?.type || 'audio/webm').split(';')[0];
    const chunks = recording.chunks;
    if (this.recording === recording) this.endRecording({ cancelled: false });
    const here = recording.conversationId === this.getConversationId();
    if (seconds < MIN_RECORDING_SECONDS || !chunks.length) {
      if (here) this.showNote('The recording was too short to send.');
      return;
    }
    const file = new File(chunks, voiceFileName(type), { type });
    this.onVoiceMessage({ file, conversationId: recording.conversationId, durationSeconds: Math.min(seconds, MAX_RECORDING_SECONDS) });
    this.onChange();
  }

  recordingElement(recording) {
    recording.parts = {
      label: h('span', { class: 'chat-pending-name', role: 'status' }, 'Starting the microphone…'),
      timer: h('span', { class: 'chat-recording-time', role: 'timer', 'aria-label': 'Recording time' }, formatDuration(0)),
    };
    return h('li', { class: 'chat-pending-item chat-recording', dataset: { state: 'starting' } },
      h('span', { class: 'chat-recording-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'chat-pending-text' },
        recording.parts.label,
        h('span', { class: 'chat-pending-meta' }, recording.parts.timer, ` / ${formatDuration(MAX_RECORDING_SECONDS)}`)),
      h('span', { class: 'chat-recording-actions' },
        h('button', {
          type: 'button', class: 'button small-button chat-recording-cancel', 'aria-keyshortcuts': 'Escape',
          onclick: () => this.endRecording({ cancelled: true }),
        }, 'Cancel'),
        h('button', {
          type: 'button', class: 'button small-button primary chat-recording-stop', onclick: () => this.stopRecording(),
        }, icon('square'), 'Send', h('span', { class: 'visually-hidden' }, ' voice message'))));
  }

  paintRecording(recording) {
    const seconds = recording.startedAt ? Math.floor((performance.now() - recording.startedAt) / 1000) : 0;
    recording.element.dataset.state = recording.state;
    recording.parts.label.textContent = recording.state === 'starting' ? 'Starting the microphone…' : 'Recording a voice message';
    recording.parts.timer.textContent = formatDuration(Math.min(seconds, MAX_RECORDING_SECONDS));
  }

  // Escape cancels a recording, unless a menu or a dialog is taking it.
  escape(event) {
    if (event.key !== 'Escape' || !this.recording || event.defaultPrevented) return;
    if (event.target.closest && event.target.closest('[role=menu], dialog[open]')) return;
    event.preventDefault();
    this.endRecording({ cancelled: true });
  }
}
