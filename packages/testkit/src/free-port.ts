import { createServer } from 'node:net';

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago.
 *
 * The kernel picks it (bind to port 0), so parallel jest workers rarely collide; the port is
 * released before returning, which leaves a small race that the server starters absorb by
 * retrying on "address in use". Hand-written: `get-port` does the same but is ESM-only, which
 * jest's CommonJS loader cannot require.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: server.address() returned no port'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
