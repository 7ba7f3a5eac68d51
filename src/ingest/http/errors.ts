import type { z } from 'zod';

/** One problem with a request: where, and what. */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

/** An error answered as-is to the client: status, stable code, readable message. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly issues?: readonly Issue[],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A request part did not match its schema; every issue names its field. */
export class RequestValidationError extends HttpError {
  constructor(part: string, issues: readonly Issue[]) {
    super(400, 'invalid_request', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
    this.name = 'RequestValidationError';
    void part;
  }
}

/** Turns zod issues into field paths such as `body.events[3].type`. */
export function zodIssues(part: string, error: z.ZodError): Issue[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.reduce<string>(
      (acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : `${acc}.${String(seg)}`),
      part,
    );
    if (issue.code === 'unrecognized_keys') {
      // One issue per unknown key, each naming the key itself.
      return issue.keys.map((key) => ({ path: `${base}.${key}`, message: 'unknown field' }));
    }
    return [{ path: base, message: issue.message }];
  });
}
