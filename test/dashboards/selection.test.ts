import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { STACK_DASHBOARDS, stackDashboards } from '../../dashboards/index.js';
import { AREA_DASHBOARDS, stackRuleFiles } from '../../rules/index.js';
import { ConfigError } from '../../src/config/index.js';
import { environment, example } from '../constructs/helpers.js';
import { synthEnvironment } from '../../src/project/index.js';

type RuleFile = { groups: Array<{ rules: Array<{ alert?: string; annotations?: Record<string, string> }> }> };

describe('dashboards per environment', () => {
  it('drops a shipped dashboard the environment names', () => {
    const env = environment({ dashboards: { drop: ['obstack-ai', 'obstack-security'] } });
    const uids = stackDashboards(env).map((d) => d.uid);
    expect(uids).not.toContain('obstack-ai');
    expect(uids).not.toContain('obstack-security');
    expect(uids).toContain('obstack-service-overview');
  });

  it('refuses a misspelt uid with the closest shipped one, rather than dropping nothing', () => {
    const env = environment({ dashboards: { drop: ['obstack-secruity'] } });
    expect(() => stackDashboards(env)).toThrow(ConfigError);
    expect(() => stackDashboards(env)).toThrow(/dashboards\.drop\[0\]: names no shipped dashboard; did you mean "obstack-security"\?/);
  });

  it('ships at least 11 dashboards in every environment', () => {
    for (const name of ['dev', 'staging', 'prod'] as const) expect(stackDashboards(example(name)).length, name).toBeGreaterThanOrEqual(11);
  });
});

describe('alerts link to their dashboards', () => {
  for (const name of ['dev', 'prod'] as const) {
    it(`${name}: every alert but the Watchdog has a dashboard_url on the environment's Grafana, naming a shipped dashboard`, () => {
      const env = example(name);
      const shipped = new Set(stackDashboards(env).map((d) => d.uid));
      const base = name === 'prod' ? 'https://grafana.example.com/d/' : 'http://grafana.obstack-dev.svc.cluster.local:3000/d/';
      let alerts = 0;
      for (const text of Object.values(stackRuleFiles(env))) {
        for (const g of (parse(text) as RuleFile).groups) {
          for (const r of g.rules) {
            if (!r.alert || r.alert === 'Watchdog') continue;
            alerts++;
            const url = r.annotations?.dashboard_url ?? '';
            expect(url.startsWith(base), `${r.alert}: ${url}`).toBe(true);
            expect(shipped.has(url.slice(base.length)), `${r.alert} -> ${url}`).toBe(true);
          }
        }
      }
      expect(alerts).toBeGreaterThanOrEqual(60);
    });
  }

  it('links every area to a dashboard that ships', () => {
    const uids = new Set(STACK_DASHBOARDS.map((d) => d.uid));
    for (const [file, link] of Object.entries(AREA_DASHBOARDS)) {
      const chosen = typeof link === 'function' ? ['HighErrorRate', 'SlowDatabaseQueries', 'AIServiceDown', 'CacheHitRateCollapse', 'RepeatedFailedLogins', 'TargetDown'].map(link) : [link];
      const targets = chosen.flatMap((c) => (c === undefined ? [] : typeof c === 'string' ? [c] : [...c]));
      expect(targets.length, file).toBeGreaterThan(0);
      for (const uid of targets) expect(uids.has(uid), `${file} -> ${uid}`).toBe(true);
    }
  });
});

describe('an environment that drops a dashboard alerts link to', () => {
  it("the area's next dashboard (the service overview for the AI and database alerts), and the synth passes every check", () => {
    const env = environment({ dashboards: { drop: ['obstack-ai', 'obstack-database'] } });
    const { result, findings } = synthEnvironment(env);
    expect(findings).toEqual([]);
    const rules = (parse(result.files.get('rules/application.yaml') ?? '') as RuleFile).groups.flatMap((g) => g.rules);
    const uidOf = (alert: string) => rules.find((r) => r.alert === alert)?.annotations?.dashboard_uid;
    expect(uidOf('AIServiceDown')).toBe('obstack-service-overview');
    expect(uidOf('SlowDatabaseQueries')).toBe('obstack-service-overview');
    expect(uidOf('RepeatedFailedLogins')).toBe('obstack-security');
    expect(result.files.get('rules/application.yaml')).not.toMatch(/obstack-ai|obstack-database/);
  });
});
