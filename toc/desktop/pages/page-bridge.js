// How TOC's pages talk to the desktop app: a request is a `toc-desktop-request` event on the
// document, whose detail is JSON {id, method, args}; the answer comes back as a
// `toc-desktop-answer` event with JSON {id, result}. The app's side runs in an isolated world
// (toc/desktop/bridge.py), so it works under the server's Content-Security-Policy.
function desktopReady() {
  if (document.documentElement.dataset.tocDesktop === 'ready') return Promise.resolve();
  return new Promise((resolve) => document.addEventListener('toc-desktop-ready', () => resolve(), { once: true }));
}

async function desktopCall(method, ...args) {
  await desktopReady();
  const id = `${Date.now()}-${Math.random()}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { document.removeEventListener('toc-desktop-answer', listen); reject(new Error('The app did not answer.')); }, 30000);
    function listen(event) {
      const answer = JSON.parse(event.detail);
      if (answer.id !== id) return;
      clearTimeout(timer);
      document.removeEventListener('toc-desktop-answer', listen);
      resolve(answer.result);
    }
    document.addEventListener('toc-desktop-answer', listen);
    document.dispatchEvent(new CustomEvent('toc-desktop-request', { detail: JSON.stringify({ id, method, args }) }));
  });
}
