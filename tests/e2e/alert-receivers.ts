/**
 * Real receivers of alert notifications on loopback: an HTTP server that records JSON POSTs (a
 * Slack-style webhook and Alertmanager's API) and an SMTP server (the `smtp-server` library)
 * that records the mail nodemailer delivers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A JSON POST received. */
export interface Received {
  path: string;
  body: any;
}

/** An HTTP receiver of JSON POSTs. */
export class HttpReceiver {
  readonly received: Received[] = [];
  private constructor(private readonly server: Server) {}

  /** Listens on a free loopback port. */
  static async start(): Promise<HttpReceiver> {
    const server = createServer();
    const r = new HttpReceiver(server);
    server.on('request', (req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => {
        try {
          r.received.push({ path: req.url ?? '', body: JSON.parse(text) });
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  /** Base URL. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Stops listening. */
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A mail received: envelope and raw message. */
export interface Mail {
  from: string;
  to: string[];
  subject: string;
  raw: string;
}

/** An SMTP receiver (plain, no TLS, no auth: loopback only). */
export class SmtpReceiver {
  private port = 0;
  private constructor(
    private readonly server: SMTPServer,
    /** Mail received so far, oldest first. */
    readonly mails: Mail[],
  ) {}

  /** Listens on a free loopback port. */
  static async start(): Promise<SmtpReceiver> {
    const mails: Mail[] = [];
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, session, callback) {
        let raw = '';
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => (raw += c));
        stream.on('end', () => {
          // Headers may be folded over several lines; unfold before reading the subject.
          const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
          const subject = /^Subject: (.*)$/im.exec(head)?.[1] ?? '';
          mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject,
            raw,
          });
          callback();
        });
      },
    });
    const self = new SmtpReceiver(server, mails);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    self.port = (server.server.address() as AddressInfo).port;
    return self;
  }

  /** SMTP URL for nodemailer. */
  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Stops listening. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
