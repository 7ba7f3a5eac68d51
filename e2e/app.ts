import { createServer, type Server } from 'node:http';
import { Agent, request } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Who the application is: the labels its metrics carry, as a service instrumented to the metric catalog's conventions would. */
export const APP = { namespace: 'shop', service: 'checkout', team: 'shop', pod: 'checkout-0' } as const;

/**
 * A small instrumented application: HTTP routes whose requests are counted
 * and timed the way the shipped rules (rules/application.ts, rules/slos.ts)
 * and the service dashboard read them (`http_requests_total`,
 * `http_request_duration_seconds`, `auth_login_attempts_total`), each with a
 * `service` and a `team` label.
 */
export class InstrumentedApp {
  private server: Server | undefined;
  private readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status' | 'status_code'>;
  private readonly duration: Histogram<'method' | 'route' | 'status_code'>;
  private readonly logins: Counter<'result'>;
  port = 0;

  constructor() {
    this.registry.setDefaultLabels({ service: APP.service, team: APP.team });
    // The requirements' convention is `status`, the service dashboard's `status_code`: both are set.
    this.requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests.', labelNames: ['method', 'route', 'status', 'status_code'], registers: [this.registry] });
    this.duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.logins = new Counter({ name: 'auth_login_attempts_total', help: 'Login attempts.', labelNames: ['result'], registers: [this.registry] });
    new Gauge({ name: 'database_connections_max', help: 'Connection pool size.', registers: [this.registry] }).set(20);
    new Gauge({ name: 'database_connections_active', help: 'Connections in use.', registers: [this.registry] }).set(3);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req.method ?? 'GET', req.url ?? '/', res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const a = this.server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  private async handle(method: string, url: string, res: import('node:http').ServerResponse): Promise<void> {
    if (url === '/metrics') {
      res.writeHead(200, { 'content-type': this.registry.contentType }).end(await this.registry.metrics());
      return;
    }
    const start = performance.now();
    const [route, status] = ((): [string, number] => {
      if (url.startsWith('/api/orders')) return ['/api/orders', 200];
      if (url.startsWith('/api/fail')) return ['/api/fail', 500];
      if (url.startsWith('/api/slow')) return ['/api/slow', 200];
      if (url.startsWith('/login')) return ['/login', url.includes('bad') ? 401 : 200];
      return ['unmatched', 404];
    })();
    if (route === '/api/slow') await new Promise((r) => setTimeout(r, 3_000));
    if (route === '/login') this.logins.inc({ result: status === 200 ? 'success' : 'failure' });
    const code = String(status);
    this.requests.inc({ method, route, status: code, status_code: code });
    this.duration.observe({ method, route, status_code: code }, (performance.now() - start) / 1000);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: status < 400 }));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

/** What the traffic driver sends each second. */
export interface TrafficMix {
  readonly ok: number;
  readonly fail: number;
  readonly slow: number;
  readonly badLogins: number;
  readonly notFound: number;
}

/** Sends a mix of requests to the application every second until stopped; counts what it sent. */
export class TrafficDriver {
  private timer: NodeJS.Timeout | undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 32 });
  mix: TrafficMix = { ok: 0, fail: 0, slow: 0, badLogins: 0, notFound: 0 };
  sent = 0;
  failedToSend = 0;

  constructor(private readonly port: number) {}

  start(mix: TrafficMix): void {
    this.mix = mix;
    if (this.timer) return;
    const tick = () => {
      const m = this.mix;
      const paths = [
        ...Array<string>(m.ok).fill('/api/orders'),
        ...Array<string>(m.fail).fill('/api/fail'),
        ...Array<string>(m.slow).fill('/api/slow'),
        ...Array<string>(m.badLogins).fill('/login?bad'),
        ...Array<string>(m.notFound).fill('/api/missing'),
      ];
      for (const path of paths) this.send(path);
    };
    tick();
    this.timer = setInterval(tick, 1_000);
  }

  private send(path: string): void {
    this.sent++;
    const req = request({ host: '127.0.0.1', port: this.port, path, agent: this.agent, method: path.startsWith('/login') ? 'POST' : 'GET' }, (res) => res.resume());
    req.on('error', () => this.failedToSend++);
    req.end();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.agent.destroy();
  }
}
