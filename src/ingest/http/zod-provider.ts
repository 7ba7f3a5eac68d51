import type { FastifySchemaCompiler, FastifySerializerCompiler, FastifyTypeProvider } from 'fastify';
import { z } from 'zod';
import { RequestValidationError, zodIssues } from './errors.js';
import { fastPath } from './schemas.js';

/** Lets route handlers see `request.body` etc. as the zod schema's output type. */
export interface ZodTypeProvider extends FastifyTypeProvider {
  readonly validator: this['schema'] extends z.ZodType ? z.output<this['schema']> : unknown;
  readonly serializer: this['schema'] extends z.ZodType ? z.input<this['schema']> : unknown;
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

/** Validates request parts with the route's zod schemas; issues name their field. */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const part = PART_NAMES[httpPart ?? 'body'] ?? 'body';
  const fast = fastPath(schema);
  return (data: unknown) => {
    if (fast) {
      const value = fast(data);
      if (value !== undefined) return { value };
    }
    const result = schema.safeParse(data);
    if (result.success) return { value: result.data };
    return { error: new RequestValidationError(part, zodIssues(part, result.error)) };
  };
};

/**
 * Serializes replies; with `check`, a reply that does not match its declared
 * schema is an error (tests run with it on, production with it off for speed).
 */
export function zodSerializerCompiler(check: boolean): FastifySerializerCompiler<z.ZodType> {
  return ({ schema }) =>
    (data: unknown) => {
      if (check) {
        const result = schema.safeParse(data);
        if (!result.success) throw new Error(`reply does not match its schema: ${z.prettifyError(result.error)}`);
      }
      return JSON.stringify(data);
    };
}
