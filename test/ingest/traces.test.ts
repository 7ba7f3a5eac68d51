import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JaegerClient, JaegerError } from '../../src/ingest/jaeger-client.js';
import { isCredentialName, scrubValue } from '../../src/ingest/routes/traces.js';
import { auth, makeApp, type TestApp } from './helpers/app.js';

/*
 * A stand-in for Jaeger 2.10's query service, answering its HTTP API v3 as
 * jaegertracing/jaeger's apiv3 HTTP gateway (http_gateway.go) does:
 *
 * - GET /api/v3/traces/{trace_id} → 200, `Content-Type: application/json`, the
 *   trace as OTLP/JSON (ptrace.JSONMarshaler) in api_v3's GRPCGatewayWrapper:
 *     {"result":{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"…"}}]},
 *       "scopeSpans":[{"scope":{…},"spans":[{"traceId":"<32 hex>","spanId":"<16 hex>","parentSpanId":"<16 hex>",
 *       "name":"…","kind":2,"startTimeUnixNano":"<decimal string>","endTimeUnixNano":"<decimal string>",
 *       "attributes":[{"key":"…","value":{"stringValue"|"intValue" (a decimal string)|"doubleValue"|"boolValue"|"arrayValue":{"values":[…]}}}],
 *       "status":{"code":2,"message":"…"}}]}]}]}}
 *   Zero values are left out (a root span has no parentSpanId, an unset status is `{}`).
 * - an unknown trace → 404 through Go's http.Error (`text/plain; charset=utf-8`, a trailing newline)
 *   with api_v3's GRPCGatewayError: {"error":{"httpCode":404,"message":"No traces found"}}
 */
type Mode = 'jaeger' | 'hang' | 'garbage' | 'wrong-shape' | 'huge' | 'error500' | 'plain404' | 'reset';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SHORT_ID = 'a3ce929d0e0e4736';
const PADDED_SHORT_ID = `0000000000000000${SHORT_ID}`;
/** 2024-01-15T14:30:00Z in Unix nanoseconds, plus 123 ns: beyond 2^53, a float64 cannot hold it (its step there is 256 ns). */
const T0 = 1_705_329_000_000_000_123n;
const at = (ms: number) => String(T0 + BigInt(Math.round(ms * 1_000_000)));

const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const int = (key: string, v: number) => ({ key, value: { intValue: String(v) } });

const ROOT = 'a1a1a1a1a1a1a1a1';
const CART = 'b2b2b2b2b2b2b2b2';
const CHARGE = 'c3c3c3c3c3c3c3c3';
const RECEIPT = 'd4d4d4d4d4d4d4d4';

/** 4 spans of 2 services, `payments` first and each resource's spans out of order, one span in error. */
const CHECKOUT_TRACE = {
  result: {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'payments'), str('host.name', 'payments-7d9f')] },
        scopeSpans: [
          {
            scope: { name: 'payments-instrumentation', version: '1.2.0' },
            spans: [
              {
                traceId: TRACE_ID,
                spanId: RECEIPT,
                parentSpanId: CHARGE,
                name: 'send receipt',
                kind: 4,
                startTimeUnixNano: at(212.5),
                endTimeUnixNano: at(250),
                attributes: [
                  str('messaging.system', 'kafka'),
                  { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } } },
                  str('apiKey', 'k-123456'),
                  int('gen_ai.usage.input_tokens', 1234),
                ],
                status: {},
              },
              {
                traceId: TRACE_ID,
                spanId: CHARGE,
                parentSpanId: ROOT,
                name: 'charge card',
                kind: 3,
                startTimeUnixNano: at(30),
                endTimeUnixNano: at(210.2),
                attributes: [
                  str('payment.provider', 'acme'),
                  str('x-api-key', 'live-key-abcdef'),
                  { key: 'http.request.header.cookie', value: { arrayValue: { values: [{ stringValue: 'sid=s3cr3t' }] } } },
                  { key: 'retry', value: { boolValue: false } },
                  str('url.full', 'https://acme.example/charge?amount=10&access_token=s3cr3t'),
                ],
                status: { code: 2, message: 'card declined' },
              },
            ],
          },
        ],
      },
      {
        resource: { attributes: [str('service.name', 'checkout')] },
        scopeSpans: [
          {
            scope: { name: 'checkout-instrumentation' },
            spans: [
              {
                traceId: TRACE_ID,
                spanId: CART,
                parentSpanId: ROOT,
                name: 'load cart',
                kind: 1,
                startTimeUnixNano: at(1.5),
                endTimeUnixNano: at(26.6),
                attributes: [
                  str('db.system', 'redis'),
                  str('db.password', 'hunter2'),
                  int('cart.items', 3),
                  { key: 'cart.value', value: { doubleValue: 59.9 } },
                ],
                status: { code: 1 },
              },
              {
                traceId: TRACE_ID,
                spanId: ROOT,
                name: 'POST /api/checkout',
                kind: 2,
                startTimeUnixNano: at(0),
                endTimeUnixNano: at(245.3),
                attributes: [
                  str('http.request.method', 'POST'),
                  str('http.route', '/api/checkout'),
                  int('http.response.status_code', 200),
                  { key: 'http.request.header.authorization', value: { arrayValue: { values: [{ stringValue: 'Bearer eyJhbGciOi.x.y' }] } } },
                  str('session.token', 'tok-0123456789'),
                  str('user.id', 'user_123'),
                  { key: 'cache_hit', value: { boolValue: true } },
                ],
                status: {},
              },
            ],
          },
        ],
      },
    ],
  },
};

/** One span, no service name: the component comes from the span's `component` attribute. */
const SHORT_TRACE = {
  result: {
    resourceSpans: [
      {
        resource: {},
        scopeSpans: [
          {
            scope: {},
            spans: [
              {
                traceId: PADDED_SHORT_ID,
                spanId: 'e5e5e5e5e5e5e5e5',
                name: 'recommendation_generation',
                kind: 1,
                startTimeUnixNano: '1705329000000000000',
                endTimeUnixNano: '1705329000180200000',
                attributes: [str('component', 'recommendation'), str('model.version', 'v2.1')],
                status: { code: 1 },
              },
            ],
          },
        ],
      },
    ],
  },
};

/** One span of 61 attributes, the first named `__proto__`. */
const WIDE_ID = '5b8efff798038103d269b633813fc60c';
const WIDE_TRACE = {
  result: {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'search')] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: WIDE_ID,
                spanId: 'f6f6f6f6f6f6f6f6',
                name: 'search',
                startTimeUnixNano: '1705329000000000000',
                endTimeUnixNano: '1705329000001000000',
                attributes: [str('__proto__', 'plain key'), ...Array.from({ length: 60 }, (_, i) => int(`attr_${String(i).padStart(2, '0')}`, i))],
              },
            ],
          },
        ],
      },
    ],
  },
};

const TRACES: Record<string, unknown> = { [TRACE_ID]: CHECKOUT_TRACE, [PADDED_SHORT_ID]: SHORT_TRACE, [WIDE_ID]: WIDE_TRACE };

interface FakeJaeger {
  readonly url: string;
  readonly server: Server;
  mode: Mode;
  readonly requests: { url: string; accept: string | undefined }[];
}

async function startFakeJaeger(): Promise<FakeJaeger> {
  const fake = { mode: 'jaeger' as Mode, requests: [] as FakeJaeger['requests'] } as FakeJaeger;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    fake.requests.push({ url: req.url ?? '', accept: req.headers.accept });
    const notFound = () => {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
      res.end('{"error":{"httpCode":404,"message":"No traces found"}}\n');
    };
    switch (fake.mode) {
      case 'hang':
        return; // never answers
      case 'reset':
        req.socket.destroy();
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('<html><body>502 Bad Gateway</body></html>');
        return;
      case 'wrong-shape':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: [{ traceID: TRACE_ID, spans: [] }] })); // API v1's shape, not v3's
        return;
      case 'huge': {
        // Chunked, no content-length: the cap must hold while the body streams.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = 'x'.repeat(16 * 1024);
        for (let i = 0; i < 32; i++) res.write(chunk);
        res.end();
        return;
      }
      case 'error500':
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('{"error":{"httpCode":500,"message":"elasticsearch: connection refused"}}\n');
        return;
      case 'plain404':
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('404 page not found\n');
        return;
      case 'jaeger': {
        const m = /^\/api\/v3\/traces\/([^/?]+)$/.exec(req.url ?? '');
        const trace = m ? TRACES[m[1]!] : undefined;
        if (!trace) return notFound();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(trace));
        return;
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, { server, url: `http://127.0.0.1:${port}` });
}

async function stopServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

const TIMEOUT_MS = 400;
const MAX_BYTES = 64 * 1024;

describe('GET /api/v1/monitoring/traces/:trace_id through Jaeger', () => {
  let jaeger: FakeJaeger;
  let t: TestApp;

  beforeAll(async () => {
    jaeger = await startFakeJaeger();
    t = await makeApp({}, undefined, { jaeger: new JaegerClient(jaeger.url, TIMEOUT_MS, MAX_BYTES) });
  });
  afterAll(async () => {
    await t?.app.close();
    if (jaeger) await stopServer(jaeger.server);
  });
  beforeEach(() => {
    jaeger.mode = 'jaeger';
    jaeger.requests.length = 0;
  });

  const get = (id: string, headers: Record<string, string> = auth('read')) => t.app.inject({ url: `/api/v1/monitoring/traces/${id}`, headers });

  it('maps a trace of 4 spans across 2 services field by field', async () => {
    const res = await get(TRACE_ID);
    expect(res.statusCode).toBe(200);
    expect(jaeger.requests).toEqual([{ url: `/api/v3/traces/${TRACE_ID}`, accept: 'application/json' }]);
    const body = res.json();
    expect(body.trace_id).toBe(TRACE_ID);
    expect(body.operation).toBe('POST /api/checkout');
    expect(body.component).toBe('checkout');
    // From the root's start (T0) to the receipt's end (T0 + 250 ms), which outlasts the root.
    expect(body.total_duration_ms).toBe(250);
    expect(body.success).toBe(false);
    expect(body.timestamp).toBe('2024-01-15T14:30:00.000Z');
    expect(body.metadata).toEqual({
      'http.request.method': 'POST',
      'http.route': '/api/checkout',
      'http.response.status_code': 200,
      'user.id': 'user_123',
      cache_hit: true,
      services: ['checkout', 'payments'],
      span_count: 4,
    });
    // Ordered by start time, whatever the order of resources and spans in Jaeger's answer.
    expect(body.spans).toEqual([
      {
        span_id: ROOT,
        parent_span_id: null,
        name: 'POST /api/checkout',
        service: 'checkout',
        start_offset_ms: 0,
        duration_ms: 245.3,
        status: 'success',
        metadata: { 'http.request.method': 'POST', 'http.route': '/api/checkout', 'http.response.status_code': 200, 'user.id': 'user_123', cache_hit: true },
      },
      {
        span_id: CART,
        parent_span_id: ROOT,
        name: 'load cart',
        service: 'checkout',
        start_offset_ms: 1.5,
        duration_ms: 25.1,
        status: 'success',
        metadata: { 'db.system': 'redis', 'cart.items': 3, 'cart.value': 59.9 },
      },
      {
        span_id: CHARGE,
        parent_span_id: ROOT,
        name: 'charge card',
        service: 'payments',
        start_offset_ms: 30,
        duration_ms: 180.2,
        status: 'error',
        metadata: { 'payment.provider': 'acme', retry: false, 'url.full': 'https://acme.example/charge?amount=10&access_token=[redacted]' },
      },
      {
        span_id: RECEIPT,
        parent_span_id: CHARGE,
        name: 'send receipt',
        service: 'payments',
        start_offset_ms: 212.5,
        duration_ms: 37.5,
        status: 'success',
        metadata: { 'messaging.system': 'kafka', tags: '["a",2]', 'gen_ai.usage.input_tokens': 1234 },
      },
    ]);
    // No credential reaches the answer, by name or inside a value.
    for (const secret of ['hunter2', 'live-key', 'k-123456', 's3cr3t', 'eyJhbGciOi', 'tok-0123456789']) expect(res.body).not.toContain(secret);
  });

  it('takes a 64-bit id of 16 hex characters, padded to 32, and names the component from the root span when no service is known', async () => {
    const res = await get(SHORT_ID.toUpperCase());
    expect(res.statusCode).toBe(200);
    expect(jaeger.requests.map((r) => r.url)).toEqual([`/api/v3/traces/${PADDED_SHORT_ID}`]);
    expect(res.json()).toEqual({
      trace_id: PADDED_SHORT_ID,
      operation: 'recommendation_generation',
      component: 'recommendation',
      total_duration_ms: 180.2,
      spans: [
        {
          span_id: 'e5e5e5e5e5e5e5e5',
          parent_span_id: null,
          name: 'recommendation_generation',
          service: 'unknown',
          start_offset_ms: 0,
          duration_ms: 180.2,
          status: 'success',
          metadata: { component: 'recommendation', 'model.version': 'v2.1' },
        },
      ],
      success: true,
      timestamp: '2024-01-15T14:30:00.000Z',
      metadata: { component: 'recommendation', 'model.version': 'v2.1', services: [], span_count: 1 },
    });
  });

  it('answers at most 50 attributes of a span, the first ones, an attribute named __proto__ among them', async () => {
    const res = await get(WIDE_ID);
    expect(res.statusCode).toBe(200);
    const [span] = res.json().spans as { metadata: Record<string, unknown> }[];
    const expected = ['__proto__', ...Array.from({ length: 49 }, (_, i) => `attr_${String(i).padStart(2, '0')}`)];
    expect(Object.keys(span!.metadata)).toEqual(expected);
    expect(Object.getOwnPropertyDescriptor(span!.metadata, '__proto__')?.value).toBe('plain key');
    expect(span!.metadata['attr_48']).toBe(48);
    expect(Object.keys(res.json().metadata)).toEqual([...expected, 'services', 'span_count']);
  });

  it("passes Jaeger's 404 on as not_found, asking once", async () => {
    const missing = '0af7651916cd43dd8448eb211c80319c';
    const res = await get(missing);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'not_found', message: `Jaeger has no trace ${missing}` });
    expect(jaeger.requests).toHaveLength(1);
  });

  it('answers 502 upstream_unavailable, naming Jaeger, when Jaeger hangs past the timeout', async () => {
    jaeger.mode = 'hang';
    const started = Date.now();
    const res = await get(TRACE_ID);
    const elapsed = Date.now() - started;
    expect(res.statusCode).toBe(502);
    expect(res.json()).toEqual({ error: 'upstream_unavailable', message: `Jaeger did not answer: trace ${TRACE_ID} cannot be read now, retry later` });
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1_500);
    // The cause is logged for the operator, not answered.
    expect(t.logs.some((l) => l['message'] === 'jaeger call failed' && String((l['error'] as { message?: string })?.message).includes(`within ${TIMEOUT_MS} ms`))).toBe(true);
  });

  it.each([
    ['garbage', 'gave an answer that could not be read'],
    ['wrong-shape', 'gave an answer that could not be read'],
    ['huge', 'gave an answer that could not be read'],
    ['error500', 'refused the request'],
    ['plain404', 'refused the request'],
    ['reset', 'did not answer'],
  ] as const)('answers 502 when Jaeger answers %s', async (mode, why) => {
    jaeger.mode = mode;
    const res = await get(TRACE_ID);
    expect(res.statusCode).toBe(502);
    expect(res.json()).toEqual({ error: 'upstream_unavailable', message: `Jaeger ${why}: trace ${TRACE_ID} cannot be read now, retry later` });
    // An answer is never asked for twice; only a connection that failed before any answer is tried once more.
    expect(jaeger.requests).toHaveLength(mode === 'reset' ? 2 : 1);
  });

  it.each([
    ['xyz', 'must be a trace id of 32 hex characters (or 16 for a 64-bit id)'],
    [TRACE_ID.slice(1), 'must be a trace id of 32 hex characters (or 16 for a 64-bit id)'],
    [`${TRACE_ID}00`, 'must be a trace id of 32 hex characters (or 16 for a 64-bit id)'],
    ['g'.repeat(32), 'must be a trace id of 32 hex characters (or 16 for a 64-bit id)'],
    ['0'.repeat(32), 'must not be all zeros: that is no trace'],
    ['0'.repeat(16), 'must not be all zeros: that is no trace'],
  ])('refuses the id %s with 400 naming params.trace_id, without asking Jaeger', async (id, message) => {
    const res = await get(id);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', issues: [{ path: 'params.trace_id', message }] });
    expect(jaeger.requests).toHaveLength(0);
  });

  it('needs a key with the read scope: 401 without one, 403 with an ingest-only key', async () => {
    expect((await get(TRACE_ID, {})).statusCode).toBe(401);
    expect((await get(TRACE_ID, auth('ingest'))).statusCode).toBe(403);
    expect((await get(TRACE_ID, auth('admin'))).statusCode).toBe(200);
    expect(jaeger.requests).toHaveLength(1);
  });
});

describe('traces and projects', () => {
  const SHOP_CHECKOUT = 'shop-checkout-read-key-0123456789';
  const SHOP_NONE = 'shop-no-components-key-0123456789';
  const BILLING = 'billing-read-key-0123456789abcdef';
  let jaeger: FakeJaeger;
  let t: TestApp;
  beforeAll(async () => {
    jaeger = await startFakeJaeger();
    t = await makeApp(
      {
        apiKeys: [
          { name: 'shop-read', key: SHOP_CHECKOUT, scopes: ['read'], project: 'shop', components: ['checkout'] },
          { name: 'shop-bare', key: SHOP_NONE, scopes: ['read'], project: 'shop' },
          { name: 'billing-read', key: BILLING, scopes: ['read'], project: 'billing', components: ['ledger', 'invoices'] },
        ],
      },
      undefined,
      { jaeger: new JaegerClient(jaeger.url, TIMEOUT_MS, MAX_BYTES) },
    );
  });
  afterAll(async () => {
    await t?.app.close();
    if (jaeger) await stopServer(jaeger.server);
  });
  const get = (key: string) => t.app.inject({ url: `/api/v1/monitoring/traces/${TRACE_ID}`, headers: { 'x-api-key': key } });

  it("shows a key the trace its service took part in, with the attributes of its own service's spans only", async () => {
    const res = await get(SHOP_CHECKOUT);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.spans.map((s: { service: string }) => s.service).sort()).toEqual(['checkout', 'checkout', 'payments', 'payments']);
    for (const span of body.spans) {
      if (span.service === 'payments') expect(span.metadata).toEqual({});
      else expect(Object.keys(span.metadata).length).toBeGreaterThan(0);
    }
  });

  it('answers 404, as for a trace Jaeger does not have, to a key none of whose services took part, and to a project key without components', async () => {
    for (const key of [BILLING, SHOP_NONE]) {
      const res = await get(key);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: 'not_found' });
    }
  });
});

describe('without Jaeger', () => {
  it('answers 503 tracing_not_configured', async () => {
    const t = await makeApp();
    try {
      const res = await t.app.inject({ url: `/api/v1/monitoring/traces/${TRACE_ID}`, headers: auth('read') });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: 'tracing_not_configured' });
      expect(res.json().message).toContain('INGEST_JAEGER_QUERY_URL');
    } finally {
      await t.app.close();
    }
  });
});

describe('JaegerClient', () => {
  it('reports a port nobody listens on as unreachable, after one more try', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await stopServer(probe);
    const client = new JaegerClient(`http://127.0.0.1:${port}`, 1_000);
    const err = await client.getTrace(TRACE_ID).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JaegerError);
    expect(err).toMatchObject({ kind: 'unreachable' });
    expect((err as Error).message).toContain(`Jaeger at http://127.0.0.1:${port} could not be reached`);
  });

  it('keeps a path prefix of the base URL (jaeger_query base_path)', async () => {
    const fake = await startFakeJaeger();
    try {
      const client = new JaegerClient(`${fake.url}/jaeger`, 1_000);
      expect(await client.getTrace(TRACE_ID)).toBeUndefined(); // the fake serves no prefix: Jaeger's 404 body
      expect(fake.requests.map((r) => r.url)).toEqual([`/jaeger/api/v3/traces/${TRACE_ID}`]);
    } finally {
      await stopServer(fake.server);
    }
  });
});

describe('credential-like attribute names', () => {
  it.each([
    'authorization',
    'http.request.header.authorization',
    'http.request.header.proxy-authorization',
    'http.request.header.cookie',
    'http.response.header.set-cookie',
    'db.password',
    'passwd',
    'user.pwd',
    'client_secret',
    'aws.secret',
    'token',
    'session.token',
    'accessToken',
    'refresh_token',
    'x-api-key',
    'api_key',
    'apiKey',
    'aws.access_key',
    'tls.private-key',
    'credentials',
    'jwt',
  ])('drops %s', (name) => expect(isCredentialName(name)).toBe(true));

  it.each(['user.id', 'http.route', 'gen_ai.usage.input_tokens', 'llm.usage.total_tokens', 'messaging.kafka.message.key', 'cache_hit', 'db.statement', 'monkey'])(
    'keeps %s',
    (name) => expect(isCredentialName(name)).toBe(false),
  );
});

describe('credentials inside attribute values', () => {
  it.each([
    ['upstream said 401 for Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig', 'upstream said 401 for Bearer [redacted]'],
    [`Authorization: Basic ${Buffer.from('jane:hunter2').toString('base64')}`, 'Authorization: Basic [redacted]'],
    ['Basic authentication failed', 'Basic authentication failed'],
    ['https://api.example/v1?q=shoes&api_key=abc123&page=2', 'https://api.example/v1?q=shoes&api_key=[redacted]&page=2'],
    ['/callback?code=xyz&state=1', '/callback?code=xyz&state=1'],
    [42, 42],
    [true, true],
  ])('%s', (value, expected) => expect(scrubValue(value)).toBe(expected));

  it('scrubs a long hostile value in bounded time', () => {
    const started = performance.now();
    expect(String(scrubValue(`;${'key'.repeat(300_000)}`))).toHaveLength(1_024);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('cuts a long value to 1024 characters', () => {
    const cut = scrubValue('x'.repeat(5_000));
    expect(cut).toHaveLength(1_024);
    expect(String(cut).endsWith('…')).toBe(true);
  });
});
