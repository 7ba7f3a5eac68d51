import type { DashboardFile, Environment } from '../src/authoring/index.js';

/** The dashboards the stack ships for an environment. */
export function stackDashboards(_env: Environment): DashboardFile[] {
  return [];
}
