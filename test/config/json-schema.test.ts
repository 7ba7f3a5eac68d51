import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { environmentJsonSchema } from '../../src/config/index.js';

const ROOT = join(import.meta.dirname, '..', '..');
const committed = JSON.parse(readFileSync(join(ROOT, 'schema', 'environment.schema.json'), 'utf8')) as Record<string, unknown>;

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  return ajv.compile(committed);
}

describe('the JSON Schema of an environment file', () => {
  it('is the one generated from the zod schema (run `npm run schema` after changing it)', () => {
    expect(committed).toEqual(environmentJsonSchema());
  });

  for (const name of ['dev', 'staging', 'prod']) {
    it(`accepts examples/environments/${name}.yaml, which points editors at it`, () => {
      const text = readFileSync(join(ROOT, 'examples', 'environments', `${name}.yaml`), 'utf8');
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../schema/environment.schema.json');
      const validate = validator();
      expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
    });
  }

  it('lets a file leave out what the defaults provide, but not the name', () => {
    const validate = validator();
    expect(validate({ name: 'minimal' })).toBe(true);
    expect(validate({ namespace: 'x' })).toBe(false);
  });

  it('refuses unknown components and wrong types, so editors flag them', () => {
    const validate = validator();
    expect(validate({ name: 'x', components: { loki: {} } })).toBe(false);
    expect(validate({ name: 'x', components: { prometheus: { replicas: 'two' } } })).toBe(false);
    expect(validate({ name: 'x', components: { prometheus: { storage: { type: 'persistant', size: '10Gi' } } } })).toBe(false);
    expect(validate({ name: 'x', components: { prometheus: { storage: { type: 'persistent', size: '10Gi' } } } })).toBe(true);
  });
});
