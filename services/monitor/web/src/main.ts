/**
 * The dashboard's entry: picks the page for the current path, joins the live feed (server-sent
 * events from `/api/live`, one connection shared by the browser's tabs through live-worker.ts)
 * whose overviews update the page in place, and navigates
 * between pages without reloading (internal links are intercepted; back and forward work).
 */
import { get } from './api.js';
import { alertsPage } from './alerts-page.js';
import { dlqPage } from './dlq-page.js';
import { overviewPage } from './overview-page.js';
import type { Page } from './page.js';
import { pipelinePage } from './pipeline-page.js';
import { reportPage } from './reports/report-page.js';
import { reportsPage } from './reports/reports-page.js';
import type { LiveMessage, Overview } from './types.js';

const main = document.getElementById('main')!;
const liveEl = document.getElementById('live')!;
const alertCount = document.getElementById('alert-count')!;
let page: Page | undefined;
let latest: Overview | undefined;

function pageFor(path: string): Page {
  const m = /^\/pipelines\/([^/]+)\/?$/.exec(path);
  if (m) return pipelinePage(decodeURIComponent(m[1]!));
  if (path === '/dlq') return dlqPage();
  if (path === '/alerts') return alertsPage();
  if (path === '/reports' || path === '/reports/') return reportsPage();
  const r = /^\/reports\/([^/]+)\/?$/.exec(path);
  if (r) return reportPage(decodeURIComponent(r[1]!));
  return overviewPage();
}

function show(focus: boolean): void {
  page?.unmount?.();
  page = pageFor(location.pathname);
  document.title = page.title;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('[data-nav]')) {
    if (a.dataset.nav === page.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  page.mount(main);
  if (latest) page.update(latest);
  // After a navigation, start at the top and move focus to the new content, so keyboard and
  // screen-reader users follow.
  if (focus) {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true });
  }
}

function apply(o: Overview): void {
  latest = o;
  const firing = o.alerts.filter((a) => a.state === 'firing').length;
  alertCount.hidden = firing === 0;
  alertCount.textContent = String(firing);
  alertCount.setAttribute('aria-label', `${firing} firing`);
  page?.update(o);
}

/**
 * The connection indicator. Only a change of state is announced (the text is a status region);
 * the time of the last update sits beside it, hidden from screen readers, which would otherwise
 * read it out every few seconds.
 */
function setLive(state: 'on' | 'off' | 'connecting', text: string, updated = ''): void {
  liveEl.className = `live ${state}`;
  const t = liveEl.querySelector('.text')!;
  if (t.textContent !== text) t.textContent = text;
  liveEl.querySelector('.updated')!.textContent = updated;
}

/** Handles one event of the live feed, from the tabs' shared worker or a connection of this tab's own. */
function onLive(m: LiveMessage): void {
  if (m.kind === 'open') setLive('on', 'Live');
  else if (m.kind === 'overview') {
    setLive('on', 'Live', `· ${new Date().toLocaleTimeString()}`);
    apply(JSON.parse(m.data) as Overview);
  } else if (m.kind === 'error') setLive(m.closed ? 'off' : 'connecting', 'Reconnecting…');
}

/**
 * Joins the live feed every tab of this browser shares (live-worker.ts: one connection to the
 * monitor, not one per tab); where shared workers do not exist, opens a connection of its own.
 */
function connect(): void {
  if (typeof SharedWorker === 'function') {
    try {
      const worker = new SharedWorker('/assets/js/live-worker.js', { name: 'tributary-live', type: 'module' });
      worker.port.onmessage = (e: MessageEvent<LiveMessage>) => onLive(e.data);
      worker.port.start();
      window.addEventListener('pagehide', () => worker.port.postMessage({ kind: 'bye' }));
      window.addEventListener('pageshow', (e) => e.persisted && worker.port.postMessage({ kind: 'hello' }));
      return;
    } catch {
      // e.g. a browser that refuses workers here: a connection of this tab's own.
    }
  }
  connectDirect();
}

function connectDirect(): void {
  const es = new EventSource('/api/live');
  es.addEventListener('open', () => setLive('on', 'Live'));
  es.addEventListener('overview', (e) => {
    setLive('on', 'Live', `· ${new Date().toLocaleTimeString()}`);
    apply(JSON.parse((e as MessageEvent<string>).data) as Overview);
  });
  // EventSource reconnects by itself; the indicator says so meanwhile.
  es.addEventListener('error', () => setLive(es.readyState === EventSource.CLOSED ? 'off' : 'connecting', 'Reconnecting…'));
}

document.addEventListener('click', (e) => {
  const a = (e.target as Element).closest?.('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || a.target) return;
  e.preventDefault();
  history.pushState(null, '', url);
  show(true);
});
window.addEventListener('popstate', () => show(true));

show(false);
// The first overview comes over HTTP too, so the page fills even where event streams are blocked.
get<Overview>('/api/overview').then(apply, () => setLive('off', 'Monitor unreachable'));
connect();
