import { randomUUID } from 'node:crypto';
import type { TestPostgres } from './postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface OutageOptions {
  /** The service's base URL, e.g. http://127.0.0.1:8080. */
  readonly base: string;
  /** An API key with the ingest scope. */
  readonly key: string;
  readonly db: TestPostgres;
  /** Concurrent writers, each sending one two-event request at a time. */
  readonly writers: number;
  /** `immediate` is a crash (recovery from the WAL at the next start); `fast` a clean stop. */
  readonly stop: 'fast' | 'immediate';
  /** How long the database stays down once readiness has failed. @default 1500 */
  readonly downMs?: number;
  /** Called once readiness has failed, and once it is back after the restart. */
  readonly whileDown?: () => Promise<void>;
  readonly afterRestart?: () => Promise<void>;
}

export interface OutageResult {
  /** Every event id answered 2xx. */
  readonly acked: readonly string[];
  /** How many were answered 2xx before the database went down. */
  readonly ackedBeforeStop: number;
  /** Answers by status; 0 counts requests that got no answer. */
  readonly statuses: ReadonlyMap<number, number>;
  /** 503s answered while the database was down. */
  readonly refusedWhileDown: number;
  /** What /health/ready answered once the database was down (503 expected). */
  readonly readyWhileDown: number;
  /** What it answered after the restart (200 expected). */
  readonly readyAfterRestart: number;
  readonly downSeconds: number;
}

/**
 * Writes events with ids under load, stops PostgreSQL, waits for readiness
 * to fail, restarts it, waits for readiness to return, and reports every id
 * answered 2xx so the caller can look for each in the database.
 */
export async function writeThroughOutage(o: OutageOptions): Promise<OutageResult> {
  const acked: string[] = [];
  const statuses = new Map<number, number>();
  let running = true;
  const writer = async () => {
    while (running) {
      const ids = [randomUUID(), randomUUID()];
      try {
        const res = await fetch(`${o.base}/api/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': o.key },
          body: JSON.stringify(ids.map((event_id) => ({ type: 'outage_test', event_id }))),
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) acked.push(...ids);
        else await sleep(20); // as a client honouring Retry-After would, sooner
      } catch {
        statuses.set(0, (statuses.get(0) ?? 0) + 1);
      }
    }
  };
  const ready = async () => (await fetch(`${o.base}/health/ready`)).status;
  const writers = Array.from({ length: o.writers }, writer);
  await sleep(500);
  const ackedBeforeStop = acked.length;
  await o.db.stop(o.stop);
  const down = performance.now();
  let readyWhileDown = 200;
  for (let i = 0; i < 50 && readyWhileDown === 200; i++) {
    readyWhileDown = await ready();
    if (readyWhileDown === 200) await sleep(100);
  }
  await o.whileDown?.();
  await sleep(o.downMs ?? 1_500);
  const refusedWhileDown = statuses.get(503) ?? 0;
  await o.db.start();
  const downSeconds = (performance.now() - down) / 1000;
  let readyAfterRestart = 503;
  for (let i = 0; i < 100 && readyAfterRestart !== 200; i++) {
    readyAfterRestart = await ready();
    if (readyAfterRestart !== 200) await sleep(100);
  }
  await o.afterRestart?.();
  await sleep(500);
  running = false;
  await Promise.all(writers);
  return { acked, ackedBeforeStop, statuses, refusedWhileDown, readyWhileDown, readyAfterRestart, downSeconds };
}
