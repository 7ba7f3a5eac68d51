/** A check the run could not make because the feature it proves has not been built: reported, not failed. */
export class Skip extends Error {
  constructor(why: string) {
    super(why);
    this.name = 'Skip';
  }
}

export interface CheckResult {
  readonly name: string;
  readonly outcome: 'passed' | 'failed' | 'skipped';
  readonly detail: string;
  readonly seconds: number;
}

const MARK = { passed: 'ok  ', failed: 'FAIL', skipped: 'skip' } as const;

/** The run's checks, each printed as it ends. */
export class Checks {
  readonly results: CheckResult[] = [];

  /** Runs one check; its return value is the detail printed. A Skip is reported as skipped, any other error as failed. */
  async step(name: string, fn: () => Promise<string | void>): Promise<boolean> {
    const start = performance.now();
    process.stdout.write(`  ...  ${name}\n`);
    let outcome: CheckResult['outcome'] = 'passed';
    let detail = '';
    try {
      detail = (await fn()) ?? '';
    } catch (e) {
      outcome = e instanceof Skip ? 'skipped' : 'failed';
      detail = e instanceof Error ? (e instanceof Skip ? `skipped: ${e.message}` : e.message) : String(e);
    }
    const seconds = (performance.now() - start) / 1000;
    this.results.push({ name, outcome, detail, seconds });
    const lines = detail.split('\n');
    process.stdout.write(`  ${MARK[outcome]} ${name} (${seconds.toFixed(1)}s)${lines[0] ? ` — ${lines[0]}` : ''}\n${lines.slice(1).map((l) => `         ${l}\n`).join('')}`);
    return outcome !== 'failed';
  }

  get ok(): boolean {
    return this.results.every((r) => r.outcome !== 'failed');
  }
}

/** Throws with `message` unless `condition` holds. */
export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
