// Runs in the app's isolated world in every page of the window (after qwebchannel.js): relays
// the page's `toc-desktop-request` events to the app and its answers back. Pages cannot reach
// the app's object directly, and the app checks which page asked before doing anything.
// It may run twice in a document (app.py runs it again after each load: Qt skips user scripts
// in a page set right after a failed load); the second run does nothing.
(() => {
  if (window.tocDesktopRelay) return;
  window.tocDesktopRelay = true;
  let desktop = null;
  const queued = [];
  new QWebChannel(qt.webChannelTransport, (channel) => {
    desktop = channel.objects.tocDesktop;
    desktop.answered.connect((text) => {
      document.dispatchEvent(new CustomEvent('toc-desktop-answer', { detail: text }));
    });
    queued.splice(0).forEach((text) => desktop.request(text));
    document.documentElement.dataset.tocDesktop = 'ready';
    document.dispatchEvent(new CustomEvent('toc-desktop-ready'));
  });
  document.addEventListener('toc-desktop-request', (event) => {
    // Say which document asks (the app checks it as well as the window's address).
    let text;
    try {
      text = JSON.stringify({ ...JSON.parse(String(event.detail)), document: location.href });
    } catch {
      return;
    }
    if (desktop) desktop.request(text);
    else queued.push(text);
  });
})();
