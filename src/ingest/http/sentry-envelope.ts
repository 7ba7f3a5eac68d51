import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, inflateRaw, type InputType, type ZlibOptions } from 'node:zlib';
import { HttpError } from './errors.js';

/** Items one envelope may hold; SDKs send one event and a few attachments or sessions at most. */
export const MAX_ENVELOPE_ITEMS = 100;

/** One item of an envelope: its header (with `type`) and its payload, as sent. */
export interface EnvelopeItem {
  readonly type: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Buffer;
}

/** A Sentry envelope: a header and the items. */
export interface Envelope {
  readonly header: Readonly<Record<string, unknown>>;
  readonly items: readonly EnvelopeItem[];
}

const NEWLINE = 0x0a;

/** A 400 that names the part of the envelope at fault. */
export function envelopeError(path: string, message: string): HttpError {
  return new HttpError(400, 'invalid_envelope', `${path}: ${message}`, [{ path, message }]);
}

function jsonObject(bytes: Buffer, path: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw envelopeError(path, `${what} is not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw envelopeError(path, `${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Parses Sentry's envelope format: a JSON header line, then per item a JSON
 * header line with `type` and an optional `length`, then the payload: exactly
 * `length` bytes (which may hold newlines) when given, else up to the next
 * newline. Blank lines between items are skipped, as Relay does.
 */
export function parseEnvelope(body: Buffer, maxItems = MAX_ENVELOPE_ITEMS): Envelope {
  if (body.length === 0) throw envelopeError('envelope', 'the body is empty');
  const headerEnd = body.indexOf(NEWLINE);
  const header = jsonObject(body.subarray(0, headerEnd < 0 ? body.length : headerEnd), 'envelope.header', 'the first line');
  const items: EnvelopeItem[] = [];
  let pos = headerEnd < 0 ? body.length : headerEnd + 1;
  while (pos < body.length) {
    if (body[pos] === NEWLINE) {
      pos++;
      continue;
    }
    const i = items.length;
    if (i >= maxItems) throw envelopeError('envelope.items', `at most ${maxItems} items per envelope`);
    const lineEnd = body.indexOf(NEWLINE, pos);
    const itemHeader = jsonObject(body.subarray(pos, lineEnd < 0 ? body.length : lineEnd), `envelope.items[${i}].header`, 'the item header');
    const type = itemHeader['type'];
    if (typeof type !== 'string' || type.length === 0) throw envelopeError(`envelope.items[${i}].header.type`, 'must be a non-empty string');
    const start = lineEnd < 0 ? body.length : lineEnd + 1;
    const length = itemHeader['length'];
    let end: number;
    if (length === undefined || length === null) {
      const next = body.indexOf(NEWLINE, start);
      end = next < 0 ? body.length : next;
      pos = next < 0 ? body.length : next + 1;
    } else {
      if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
        throw envelopeError(`envelope.items[${i}].header.length`, 'must be a non-negative integer');
      }
      if (start + length > body.length) {
        throw envelopeError(`envelope.items[${i}].header.length`, `${length} bytes, but the body has ${Math.max(0, body.length - start)} left`);
      }
      end = start + length;
      if (end < body.length && body[end] !== NEWLINE) {
        throw envelopeError(`envelope.items[${i}].payload`, `must be followed by a newline after ${length} bytes`);
      }
      pos = end + 1;
    }
    items.push({ type, header: itemHeader, payload: body.subarray(start, end) });
  }
  return { header, items };
}

/** Parses one item's payload (an event) as a JSON object. */
export function itemJson(item: EnvelopeItem, index: number): Record<string, unknown> {
  return jsonObject(item.payload, `envelope.items[${index}].payload`, `the ${item.type} payload`);
}

type Decompress = (buf: InputType, opts: ZlibOptions) => Promise<Buffer>;
const gunzipAsync = promisify(gunzip) as Decompress;
const inflateAsync = promisify(inflate) as Decompress;
const inflateRawAsync = promisify(inflateRaw) as Decompress;
const brotliAsync = promisify(brotliDecompress) as (buf: InputType, opts: { maxOutputLength: number }) => Promise<Buffer>;

/**
 * Undoes `Content-Encoding` (gzip, deflate, br; @sentry/node gzips envelopes
 * over 32 KiB), refusing output beyond `maxBytes` with 413 so that a small
 * compressed body cannot expand without bound.
 */
export async function decodeBody(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  const opts = { maxOutputLength: maxBytes };
  try {
    switch (encoding) {
      case 'gzip':
      case 'x-gzip':
        return await gunzipAsync(body, opts);
      case 'deflate':
        // HTTP's deflate is zlib-wrapped, but some clients send the raw stream.
        return await inflateAsync(body, opts).catch((err: unknown) =>
          (err as { code?: string }).code === 'Z_DATA_ERROR' ? inflateRawAsync(body, opts) : Promise.reject(err),
        );
      case 'br':
        return await brotliAsync(body, opts);
      default:
        throw new HttpError(415, 'unsupported_media_type', `content-encoding ${encoding.slice(0, 64)} is not supported: send gzip, deflate, br or none`);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HttpError(413, 'body_too_large', `the decompressed body is larger than the limit of ${maxBytes} bytes`);
    }
    throw new HttpError(400, 'invalid_encoding', `the body is not valid ${encoding} data`);
  }
}

/** A header's value when it was sent once. */
export const headerValue = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);

/**
 * The DSN public key as Sentry SDKs present it: `X-Sentry-Auth: Sentry
 * sentry_key=…, sentry_version=7`, the same in `Authorization`, or the
 * `sentry_key` query parameter (what @sentry/node sends).
 */
export function sentryKey(headers: Record<string, string | string[] | undefined>, query: unknown): string | undefined {
  for (const value of [headerValue(headers['x-sentry-auth']), headerValue(headers['authorization'])]) {
    const m = value === undefined ? null : /^\s*Sentry\s+(.*)$/i.exec(value);
    if (!m) continue;
    for (const part of m[1]!.split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === 'sentry_key') return part.slice(eq + 1).trim();
    }
  }
  const q = query !== null && typeof query === 'object' ? (query as Record<string, unknown>)['sentry_key'] : undefined;
  return typeof q === 'string' ? q : undefined;
}

/** The public key of the DSN an envelope header names (SDKs send it when they post through a tunnel). */
export function dsnPublicKey(dsn: unknown): string | undefined {
  if (typeof dsn !== 'string' || dsn.length > 2048) return undefined;
  try {
    const user = new URL(dsn).username;
    return user === '' ? undefined : decodeURIComponent(user);
  } catch {
    return undefined;
  }
}
