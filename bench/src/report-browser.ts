/**
 * Report pages in headless Chromium for the `report` and `report-load` scenarios: opens
 * `/reports/<name>` of the monitor and reads, inside the page, when it painted and when every
 * tile showed its data. Times are milliseconds from the navigation's start (the page's
 * `performance.timeOrigin`):
 *
 * - `fcp`: first-contentful-paint (the Paint Timing entry);
 * - `tiles`: the report's tiles are in the page (its parts came from `/api/reports/<name>`);
 * - `firstData`: the first tile has drawn its rows;
 * - `allData`: the last tile has drawn its rows (`data-rows` set on every `.report-tile`, which the
 *   page does right after a tile's table, number or chart option is in place), taken at the next
 *   frame after that, i.e. once the browser could paint it. Charts then animate in (ECharts' default).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { launchChromiumServer } from '@tributary/testkit';
import { chromium, type Browser, type BrowserContext, type BrowserServer, type CDPSession, type Page } from 'playwright-core';

/** When a page reached each point, ms from navigation start. */
export interface PageMarks {
  fcp: number;
  tiles: number;
  firstData: number;
  allData: number;
  /** Tiles on the page. */
  tileCount: number;
  /** Runs of the page's queries (data requests answered) by then: 1 unless an overview changed the data version meanwhile. */
  refreshes: number;
}

/**
 * Installed in every page before its own scripts: records the marks on `window.__benchMarks` and
 * counts the report's refreshes (`data-refreshed` changes: a live update re-ran queries).
 */
const MARKS_SCRIPT = `(() => {
  const marks = { refreshes: 0 };
  Object.defineProperty(window, '__benchMarks', { value: marks });
  const check = () => {
    const tiles = document.querySelectorAll('.report-tile');
    if (tiles.length === 0) return;
    marks.tileCount = tiles.length;
    if (marks.tiles === undefined) marks.tiles = performance.now();
    const failed = document.querySelector('.report-tile.failed');
    if (failed && marks.failed === undefined) marks.failed = failed.textContent;
    if (marks.firstData === undefined && document.querySelector('.report-tile[data-rows]')) marks.firstData = performance.now();
    if (marks.allDataSet === undefined && !document.querySelector('.report-tile:not([data-rows])')) {
      marks.allDataSet = performance.now();
      requestAnimationFrame(() => setTimeout(() => (marks.allData = performance.now()), 0));
    }
  };
  new MutationObserver((records) => {
    for (const r of records) if (r.type === 'attributes' && r.attributeName === 'data-refreshed') marks.refreshes++;
    check();
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-rows', 'class', 'data-refreshed'] });
})();`;

interface RawMarks {
  fcp?: number;
  tiles?: number;
  firstData?: number;
  allData?: number;
  tileCount?: number;
  failed?: string;
  refreshes: number;
}

/** Headless Chromium with its process id (for its CPU time). */
export class ReportBrowser {
  private constructor(
    private readonly server: BrowserServer,
    readonly browser: Browser,
  ) {}

  static async launch(): Promise<ReportBrowser> {
    const server = await launchChromiumServer();
    return new ReportBrowser(server, await chromium.connect(server.wsEndpoint()));
  }

  /** The browser's main process (its renderers are under it). */
  get pid(): number {
    return this.server.process().pid!;
  }

  /** The browser's processes: its main process and every one under it (renderers, GPU, network, utilities). */
  processes(): number[] {
    // A walk of /proc by parent pid (proc-stats.ts sums CPU over the same tree but lists no pids).
    const children = new Map<number, number[]>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue; // ended meanwhile
      }
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    }
    const out: number[] = [];
    const visit = (p: number): void => {
      out.push(p);
      for (const c of children.get(p) ?? []) visit(c);
    };
    visit(this.pid);
    return out;
  }

  /**
   * Puts every thread of the browser's processes under SCHED_IDLE (`chrt --idle`, util-linux): they
   * get only CPU time no other process wants, so the pages cannot take the pipeline's CPU, as a
   * viewer's browser on a machine of its own could not. `false` puts them back under SCHED_OTHER.
   * Processes started later (a new context's renderer) inherit the policy of the one forking them.
   */
  schedule(idle: boolean): void {
    for (const pid of this.processes()) {
      try {
        execFileSync('chrt', [idle ? '--idle' : '--other', '--all-tasks', '--pid', '0', String(pid)], { stdio: 'pipe' });
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
        if (e.code === 'ENOENT')
          throw new Error('chrt (util-linux) is needed to run the report pages under SCHED_IDLE; install util-linux');
        // A process that ended between the walk and chrt is fine; anything else is not.
        if (!/No such process/.test(String(e.stderr)))
          throw new Error(`chrt on Chromium process ${pid}: ${String(e.stderr ?? e.message).trim()}`);
      }
    }
  }

  /** Threads of the browser's processes under SCHED_IDLE, and all its threads. */
  idleThreads(): { idle: number; all: number } {
    let idle = 0;
    let all = 0;
    for (const pid of this.processes()) {
      let tids: string[];
      try {
        tids = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tids) {
        try {
          const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
          // Field 41 (policy) of proc(5): 5 is SCHED_IDLE.
          const policy = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
          all++;
          if (policy === 5) idle++;
        } catch {
          // ended meanwhile
        }
      }
    }
    return { idle, all };
  }

  /** A fresh profile: empty HTTP cache, no cookies. */
  newContext(): Promise<BrowserContext> {
    return this.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.server.close();
  }
}

/** Reads the marks of a page (Runtime.callFunctionOn: not an eval, so the monitor's CSP allows it). */
async function readMarks(page: Page): Promise<RawMarks> {
  return page.evaluate(() => {
    const g = globalThis as unknown as { __benchMarks?: RawMarks; performance: { getEntriesByName(n: string): { startTime: number }[] } };
    const fcp = g.performance.getEntriesByName('first-contentful-paint')[0]?.startTime;
    return { ...(g.__benchMarks ?? { refreshes: 0 }), fcp };
  });
}

/** Opens `url` in a new page of `context` and waits until every tile shows its data; the page stays open. */
export async function openReport(context: BrowserContext, url: string, timeoutMs = 120_000): Promise<{ page: Page; marks: PageMarks }> {
  const page = await context.newPage();
  await page.addInitScript({ content: MARKS_SCRIPT });
  await page.goto(url, { waitUntil: 'commit' });
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = await readMarks(page);
    if (m.failed !== undefined) throw new Error(`report page ${url}: a tile failed: ${m.failed}`);
    if (m.allData !== undefined && m.fcp !== undefined) {
      return {
        page,
        marks: {
          fcp: m.fcp,
          tiles: m.tiles!,
          firstData: m.firstData!,
          allData: m.allData,
          tileCount: m.tileCount!,
          refreshes: m.refreshes,
        },
      };
    }
    if (Date.now() > end) throw new Error(`report page ${url}: not every tile showed data within ${timeoutMs} ms (${JSON.stringify(m)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How many times each page's report refreshed since it opened (live updates). */
export async function refreshCounts(pages: Page[]): Promise<number[]> {
  return Promise.all(pages.map(async (p) => (await readMarks(p)).refreshes));
}

/** Main-thread time a page's renderer has spent so far, in seconds (CDP `Performance.getMetrics`). */
export interface PageCost {
  /** Every task of the main thread. */
  task: number;
  /** Of which running script. */
  script: number;
  /** Of which layout and style recalculation. */
  layout: number;
  style: number;
}

/** The difference of two readings, per field. */
export function costSince(before: PageCost, after: PageCost): PageCost {
  return {
    task: after.task - before.task,
    script: after.script - before.script,
    layout: after.layout - before.layout,
    style: after.style - before.style,
  };
}

/**
 * A page's own CPU, through the DevTools protocol: what its renderer's main thread spent (the
 * browser's process tree also holds the GPU, network and browser processes, which every page shares)
 * and, on request, a V8 CPU profile of its scripts.
 */
export class PageProbe {
  private constructor(private readonly cdp: CDPSession) {}

  static async attach(page: Page): Promise<PageProbe> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    return new PageProbe(cdp);
  }

  async cost(): Promise<PageCost> {
    const { metrics } = await this.cdp.send('Performance.getMetrics');
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    return { task: m.TaskDuration ?? 0, script: m.ScriptDuration ?? 0, layout: m.LayoutDuration ?? 0, style: m.RecalcStyleDuration ?? 0 };
  }

  async startProfile(): Promise<void> {
    await this.cdp.send('Profiler.enable');
    await this.cdp.send('Profiler.setSamplingInterval', { interval: 500 });
    await this.cdp.send('Profiler.start');
  }

  /** Stops the profile started by `startProfile` and writes it (a `.cpuprofile`, as profile-summary.ts reads). */
  async stopProfile(file: string): Promise<void> {
    const { profile } = await this.cdp.send('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
  }
}
