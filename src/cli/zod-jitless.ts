import { config } from 'zod';

/**
 * zod compiles a fast path for each object schema (with `new Function`) on its
 * first parse, and decides so when the schema is built. A command parses an
 * environment file once or a few times, for which compiling costs more than it
 * saves (about a third of the parse of a large environment), so the command
 * line turns it off before any schema exists: this module is the first that
 * main.ts imports. Results and messages are the same either way.
 */
config({ jitless: true });
