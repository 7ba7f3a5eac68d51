import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { environment, RECEIVERS_INPUT, synth } from './helpers.js';

type Route = { receiver: string; group_wait?: string; group_interval?: string; repeat_interval?: string; matchers?: string[]; routes?: Route[] };

const routeOf = (env: ReturnType<typeof environment>): Route => (parse(synth(env).files.get('alertmanager.yml') ?? '') as { route: Route }).route;
const digest = (route: Route): Route | undefined => route.routes?.find((r) => r.matchers?.includes('severity="P4"'));

describe('alerting.timing', () => {
  it("keeps Alertmanager's 30s / 5m / 4h and the digest's 5m wait when an environment says nothing", () => {
    const route = routeOf(environment());
    expect([route.group_wait, route.group_interval, route.repeat_interval]).toEqual(['30s', '5m', '4h']);
    expect(digest(route)?.group_wait).toBe('5m');
  });

  it('sets the top route and the digest wait from the environment, the digest interval staying digestInterval', () => {
    const route = routeOf(environment({ alerting: { receivers: RECEIVERS_INPUT, timing: { groupWait: '1s', groupInterval: '5s', repeatInterval: '2m', digestWait: '2s' }, digestInterval: '30s' } }));
    expect([route.group_wait, route.group_interval, route.repeat_interval]).toEqual(['1s', '5s', '2m']);
    expect(digest(route)).toMatchObject({ group_wait: '2s', group_interval: '30s', repeat_interval: '30s' });
  });

  it('refuses a timing that is not a duration, naming the field', () => {
    expect(() => environment({ alerting: { receivers: RECEIVERS_INPUT, timing: { groupWait: 'soon' } } })).toThrow(/alerting\.timing\.groupWait/);
  });
});
