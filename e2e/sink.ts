import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';

/** One notification Alertmanager delivered to the sink. */
export interface Notification {
  /** The Alertmanager receiver it was sent for (from the URL path, or the SMTP listener it reached). */
  readonly receiver: string;
  readonly channel: 'slack' | 'pagerduty' | 'webhook' | 'email';
  /** The body as received: JSON text for HTTP channels, the message (headers and body) for e-mail. */
  readonly body: string;
  /** SMTP recipients (e-mail only). */
  readonly recipients: readonly string[];
  readonly at: number;
}

/**
 * A local stand-in for Slack, PagerDuty, webhook endpoints and SMTP
 * smarthosts. HTTP notifications name their receiver in the path
 * (`/slack/<receiver>`, `/pagerduty/<receiver>`, `/webhook/<receiver>`);
 * e-mail reaches one SMTP listener per receiver.
 */
export class NotificationSink {
  readonly notifications: Notification[] = [];
  private http: Server | undefined;
  private readonly smtp = new Map<string, NetServer>();
  private httpPort = 0;

  /** The sink's base URL. */
  get base(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  async start(): Promise<void> {
    this.http = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const m = /^\/(slack|pagerduty|webhook)\/([^/?]+)/.exec(req.url ?? '');
        if (!m || req.method !== 'POST') {
          res.writeHead(404).end();
          return;
        }
        this.notifications.push({ receiver: decodeURIComponent(m[2]!), channel: m[1] as Notification['channel'], body, recipients: [], at: Date.now() });
        if (m[1] === 'pagerduty') res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"success","message":"Event processed"}');
        else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.http!.listen(0, '127.0.0.1', resolve));
    const a = this.http.address();
    this.httpPort = typeof a === 'object' && a ? a.port : 0;
  }

  /** Starts (once) the SMTP listener of a receiver and returns its `host:port`. */
  async smtpFor(receiver: string): Promise<string> {
    let server = this.smtp.get(receiver);
    if (!server) {
      server = createNetServer((socket) => this.smtpSession(receiver, socket));
      this.smtp.set(receiver, server);
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    }
    const a = server.address();
    return `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  }

  /** The minimal SMTP dialogue Alertmanager's mailer needs: 220, EHLO 250, MAIL/RCPT 250, DATA 354 … "." 250, QUIT 221. */
  private smtpSession(receiver: string, socket: import('node:net').Socket): void {
    let buffer = '';
    let inData = false;
    let message = '';
    let recipients: string[] = [];
    socket.write('220 e2e-sink ESMTP\r\n');
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      buffer += d.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          message += buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          inData = false;
          this.notifications.push({ receiver, channel: 'email', body: message, recipients, at: Date.now() });
          message = '';
          recipients = [];
          socket.write('250 queued\r\n');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 e2e-sink\r\n');
        else if (verb === 'MAIL') socket.write('250 ok\r\n');
        else if (verb === 'RCPT') {
          recipients.push(/<([^>]*)>/.exec(line)?.[1] ?? line.slice(8));
          socket.write('250 ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 end with <CRLF>.<CRLF>\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
          return;
        } else socket.write('250 ok\r\n');
      }
    });
  }

  async stop(): Promise<void> {
    const close = (s: Server | NetServer | undefined) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
    if (this.http && 'closeAllConnections' in this.http) this.http.closeAllConnections();
    await Promise.all([close(this.http), ...[...this.smtp.values()].map(close)]);
  }
}

/** The decoded text of a notification, for looking for alert names and links (e-mail bodies are quoted-printable). */
export function notificationText(n: Notification): string {
  if (n.channel !== 'email') return n.body;
  return n.body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}
