/**
 * The NATS cluster on the overview: healthy or degraded (and why), the meta leader, which
 * servers answer, and each stream's replicas as current / lagging / offline.
 */
import { h } from './dom.js';
import type { ClusterStatus } from './types.js';

/** A server name; an unnamed server is known by its 56-character ID, shortened (the full one in a tooltip). */
function serverName(name: string): HTMLElement {
  return name.length > 20 ? h('code', { title: name }, `${name.slice(0, 8)}…`) : h('code', {}, name);
}

/** The body of the cluster panel. */
export function clusterPanel(c: ClusterStatus): HTMLElement {
  const badge = c.degraded ? h('span', { class: 'badge bad' }, 'Degraded') : h('span', { class: 'badge ok' }, 'Healthy');
  const leader = !c.meta_leader_known ? 'not known (set NATS_MONITOR_URLS)' : c.meta_leader ? serverName(c.meta_leader) : 'none';
  return h(
    'div',
    { class: 'cluster' },
    h(
      'p',
      {},
      badge,
      ' ',
      c.clustered ? `${c.servers.filter((s) => s.reachable).length} of ${c.servers.length} servers answer` : 'single server',
      h('span', { class: 'sub' }, ' · meta leader ', leader),
    ),
    c.reasons.length
      ? h(
          'ul',
          { class: 'alert-list' },
          c.reasons.slice(0, 6).map((r) => h('li', {}, r)),
        )
      : null,
    h(
      'ul',
      { class: 'servers' },
      c.servers.map((s) =>
        h(
          'li',
          {},
          h('span', { class: `state-dot ${s.reachable ? 'live' : 'missing'}`, 'aria-hidden': 'true' }),
          s.name ? serverName(s.name) : h('code', {}, s.address),
          h('span', { class: 'sub' }, s.reachable ? ` ${s.address} · ${s.version}` : ` ${s.address} · unreachable`),
        ),
      ),
    ),
    h(
      'div',
      { class: 'scroll-x' },
      h(
        'table',
        {},
        h('caption', { class: 'visually-hidden' }, 'Replicas of each stream'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Stream'),
            h('th', {}, 'Leader'),
            h('th', { class: 'num' }, 'Current'),
            h('th', { class: 'num' }, 'Lagging'),
            h('th', { class: 'num' }, 'Offline'),
          ),
        ),
        h(
          'tbody',
          {},
          c.streams.map((s) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, s.stream),
              h('td', {}, s.error ? h('span', { class: 'badge bad' }, 'unavailable') : s.leader ? serverName(s.leader) : '—'),
              h('td', { class: 'num' }, `${s.current}/${s.replicas}`),
              h('td', { class: `num${s.lagging ? ' warn' : ''}` }, s.lagging),
              h('td', { class: `num${s.offline ? ' bad' : ''}` }, s.offline),
            ),
          ),
        ),
      ),
    ),
  );
}
