/**
 * Whether a pipeline runs, on its page: "Running" with a Pause button, or "paused by <who>: <why>"
 * ("paused by circuit breaker: 412 of 500 records failed ...") with a Resume button (admin token,
 * as on the Dead letters page). Paused, the transformers take none of the pipeline's records,
 * which wait in the raw stream; `POST /api/pipelines/<name>/pause|resume`.
 */
import { ApiError, credentials, post } from './api.js';
import { h, replaceRegion } from './dom.js';
import { ago } from './format.js';
import type { PipelinePauseView } from './api-types.js';

/** The section, and its update from the live pipeline status. */
export function pipelinePausePanel(pipeline: string): {
  section: HTMLElement;
  update: (paused: PipelinePauseView | null | undefined) => void;
} {
  const state = h('div', {});
  const notice = h('p', { class: 'notice', hidden: true, role: 'status' });
  const section = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'h-pause', 'data-key': 'pipeline-pause' },
    h('h2', { id: 'h-pause' }, 'Processing'),
    state,
    notice,
  );
  let current: PipelinePauseView | null | undefined;
  let busy = false;
  let drawn = false;
  const say = (text: string, tone: 'ok' | 'bad'): void => {
    notice.hidden = false;
    notice.className = `notice ${tone}`;
    notice.textContent = text;
  };

  const act = async (action: 'pause' | 'resume'): Promise<void> => {
    if (!credentials.token) {
      say('Enter the admin token first (on the Dead letters page; set MONITOR_ADMIN_TOKEN on the monitor).', 'bad');
      return;
    }
    busy = true;
    try {
      const r = await post<{ paused: PipelinePauseView | null }>(`/api/pipelines/${encodeURIComponent(pipeline)}/${action}`, {});
      say(
        action === 'pause' ? 'Paused: new records wait in the raw stream until resumed.' : 'Resumed: waiting records are processed now.',
        'ok',
      );
      draw(r.paused);
    } catch (err) {
      say(`Cannot ${action} ${pipeline}: ${err instanceof ApiError ? err.message : String(err)}`, 'bad');
    } finally {
      busy = false;
    }
  };

  const draw = (paused: PipelinePauseView | null | undefined): void => {
    current = paused;
    drawn = true;
    replaceRegion(
      state,
      h(
        'p',
        { class: paused ? 'notice warn' : 'notice ok', 'data-key': 'pause-state' },
        paused ? `${paused.summary} (${ago(paused.at)})` : 'Running: records are transformed and loaded as they arrive.',
      ),
      h(
        'button',
        { type: 'button', 'data-key': 'pause-button', onclick: () => void act(current ? 'resume' : 'pause') },
        paused ? 'Resume' : 'Pause',
      ),
    );
  };

  return {
    section,
    update(paused) {
      // Unknown (no KV): nothing to show; busy: the answer of the click draws it.
      section.hidden = paused === undefined;
      const key = (x: PipelinePauseView | null | undefined): string => (x === undefined ? '' : x === null ? 'running' : x.at);
      if (!busy && (drawn === false || key(paused) !== key(current))) draw(paused);
    },
  };
}
