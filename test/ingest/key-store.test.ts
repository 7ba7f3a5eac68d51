import { describe, expect, it } from 'vitest';
import { parseConfig, type IngestConfigInput } from '../../src/ingest/config.js';
import { ApiKeyStore } from '../../src/ingest/http/auth.js';

/** The key store remembers the keys it recognised, and nothing else, and never lets memory outvote a reload or an expiry. */

const A = 'key-store-test-key-a-0123456789';
const B = 'key-store-test-key-b-0123456789';
const keys = (list: NonNullable<IngestConfigInput['apiKeys']>) => parseConfig({ apiKeys: list }).apiKeys;
const remembered = (store: ApiKeyStore) => (store as unknown as { recognised: Map<string, unknown> }).recognised.size;

describe('ApiKeyStore', () => {
  it('recognises a key again as it did the first time, and remembers only keys of its set', () => {
    const store = new ApiKeyStore(keys([{ name: 'a', key: A, scopes: ['ingest'] }, { name: 'b', key: B, scopes: ['read'] }]));
    for (let i = 0; i < 3; i++) {
      expect(store.authenticate(A)?.name).toBe('a');
      // The same text in another string object.
      expect(store.authenticate(['key-store-test-key-a', '0123456789'].join('-'))?.name).toBe('a');
      expect(store.authenticate(B)?.name).toBe('b');
      expect(store.authenticate(`${A.slice(0, -1)}X`)).toBeUndefined();
      expect(store.authenticate(`${A}0`)).toBeUndefined();
      expect(store.authenticate(A.slice(1))).toBeUndefined();
    }
    for (let i = 0; i < 1_000; i++) expect(store.authenticate(`wrong-key-${i}-0123456789abcdef`)).toBeUndefined();
    expect(remembered(store)).toBe(2);
  });

  it('refuses a remembered key once a reload revokes, removes or rotates it', () => {
    const store = new ApiKeyStore(keys([{ name: 'a', key: A, scopes: ['ingest'] }, { name: 'b', key: B, scopes: ['ingest'] }]));
    expect(store.authenticate(A)?.name).toBe('a');
    expect(store.authenticate(B)?.name).toBe('b');
    store.replace(keys([{ name: 'a', key: A, scopes: ['ingest'], revoked: true }, { name: 'b', key: `${B}-rotated`, scopes: ['ingest'] }]));
    expect(store.authenticate(A)).toBeUndefined();
    expect(store.authenticate(B)).toBeUndefined();
    expect(store.authenticate(`${B}-rotated`)?.name).toBe('b');
    // A scope changed by the reload is the new one, not the remembered one.
    store.replace(keys([{ name: 'b', key: `${B}-rotated`, scopes: ['read'] }]));
    expect([...store.authenticate(`${B}-rotated`)!.scopes]).toEqual(['read']);
  });

  it('refuses a remembered key from the moment it expires', () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const store = new ApiKeyStore(keys([{ name: 'a', key: A, scopes: ['ingest'], expiresAt: '2030-01-01T01:00:00Z' }]), () => now);
    expect(store.authenticate(A)?.name).toBe('a');
    now = Date.parse('2030-01-01T01:00:00Z');
    expect(store.authenticate(A)).toBeUndefined();
  });
});
