/* A Server-Sent Events stream that comes back by itself.
 *
 * EventSource reconnects on its own after a dropped connection (status "reconnecting"), but
 * gives up for good when the server answers with an error (401, 5xx, a proxy's page): then this
 * module tries again, waiting longer each time (exponential backoff, 1 s doubling up to 30 s,
 * with jitter so a hundred pages do not come back in the same second), status "down". Before
 * each such retry the page may look at what changed (is the session still valid, is the
 * tracking link still good): `beforeRetry` returns a promise, and the retry waits for it.
 *
 * Events sent while the stream was away are not replayed: `onOpen(recovered)` says when the
 * stream is back after an error, so the page can fetch what it missed.
 *
 *   const stream = openStream(url, {
 *     events: { position: (data, event) => ..., booking: ... },  // data: the parsed JSON or null
 *     onStatus: (status) => ...,        // "connected" | "reconnecting" | "down"
 *     onOpen: (recovered) => ...,
 *     beforeRetry: () => fetch(...),    // optional
 *   });
 *   stream.close(); stream.restart(); stream.isOpen(); stream.isDown(); stream.hadError()
 */

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;

/** The wait before retry number `attempt` (0, 1, ...): doubling, capped, with half of it random. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** JSON event data, or null when it is not JSON. */
export function parseData(event) {
  try {
    return JSON.parse(event.data);
  } catch (error) {
    return null;
  }
}

export function openStream(url, { events = {}, onStatus = () => {}, onOpen = () => {}, beforeRetry = null } = {}) {
  let source = null;
  let attempt = 0;
  let errored = false;
  let retryTimer = null;
  let closed = false;

  function connect() {
    window.clearTimeout(retryTimer);
    retryTimer = null;
    if (closed) return;
    if (source) source.close();
    source = new EventSource(url, { withCredentials: true });
    source.addEventListener("open", () => {
      const recovered = errored;
      attempt = 0;
      errored = false;
      onStatus("connected");
      onOpen(recovered);
    });
    for (const [name, handler] of Object.entries(events)) {
      source.addEventListener(name, (event) => handler(parseData(event), event));
    }
    source.addEventListener("error", () => {
      errored = true;
      if (closed) return;
      if (source.readyState !== EventSource.CLOSED) {
        onStatus("reconnecting"); // the browser tries again by itself
        return;
      }
      onStatus("down");
      const wait = backoffDelay(attempt++);
      retryTimer = window.setTimeout(() => {
        const ready = beforeRetry ? Promise.resolve().then(beforeRetry).catch(() => {}) : Promise.resolve();
        ready.then(connect);
      }, wait);
    });
  }

  connect();
  return {
    /** Stop for good (a link that no longer works, a page that is leaving). */
    close() {
      closed = true;
      window.clearTimeout(retryTimer);
      if (source) source.close();
    },
    /** A fresh connection now (the network came back; a stream that looks open may be dead). */
    restart() {
      if (closed) return;
      errored = true;
      connect();
    },
    /** Connected now. */
    isOpen() {
      return !!source && source.readyState === EventSource.OPEN;
    },
    /** No open connection and none on the way. */
    isDown() {
      return !source || source.readyState === EventSource.CLOSED;
    },
    /** Errored since the last successful open: what the page shows may be behind. */
    hadError() {
      return errored;
    },
  };
}
