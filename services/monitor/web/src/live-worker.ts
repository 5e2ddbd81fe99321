/**
 * One live feed for every tab of a browser: a SharedWorker holding the single `/api/live`
 * connection and passing its events to each tab (main.ts). Over HTTP/1.1 a browser keeps at most
 * six connections to a host, and each open EventSource holds one for good: with a connection per
 * tab, five tabs left one connection for every report query and page load of all of them. The
 * worker ends with the last tab, and its connection with it.
 */

import type { LiveMessage } from './types.js';

const ports = new Set<MessagePort>();
let source: EventSource | undefined;
let last: LiveMessage | undefined;
let state: LiveMessage | undefined;

function send(m: LiveMessage): void {
  for (const p of ports) p.postMessage(m);
}

function connect(): void {
  source = new EventSource('/api/live');
  source.addEventListener('open', () => send((state = { kind: 'open' })));
  source.addEventListener('overview', (e) => send((last = { kind: 'overview', data: (e as MessageEvent<string>).data })));
  source.addEventListener('problem', (e) => send({ kind: 'problem', data: (e as MessageEvent<string>).data }));
  // EventSource reconnects by itself; the tabs say so meanwhile.
  source.addEventListener('error', () => send((state = { kind: 'error', closed: source!.readyState === EventSource.CLOSED })));
}

(self as unknown as { onconnect: (e: MessageEvent) => void }).onconnect = (e: MessageEvent) => {
  const port = e.ports[0]!;
  ports.add(port);
  port.onmessage = (m: MessageEvent<{ kind: string }>) => {
    // A tab going away (or into the back-forward cache) leaves; one coming back joins again.
    if (m.data.kind === 'bye') ports.delete(port);
    else if (m.data.kind === 'hello') ports.add(port);
  };
  port.start();
  if (!source) connect();
  // A new tab is current at once: the connection state and the latest overview.
  if (state) port.postMessage(state);
  if (last) port.postMessage(last);
};
