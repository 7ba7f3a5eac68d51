import { describe, expect, it } from 'vitest';
import { parseEnvironment } from '../../src/config/index.js';

const receivers = { pagerduty: { routingKey: { secretName: 'pd', key: 'k' } }, slack: { channel: '#a', apiUrl: { secretName: 's', key: 'k' } } };
const base = (fields: Record<string, unknown>, runbookBaseUrl?: string): string =>
  parseEnvironment({ name: 'prod', alerting: { receivers, ...(runbookBaseUrl !== undefined ? { runbookBaseUrl } : {}) }, ...fields }).alerting.runbookBaseUrl;

describe('the runbook base', () => {
  it("is the pages' folder in the repository Argo CD reads when its URL is https", () => {
    expect(base({ gitops: { argocd: { repoURL: 'https://github.com/acme/obs.git', targetRevision: 'v1.2.0' } } })).toBe('https://github.com/acme/obs/blob/v1.2.0/dist/prod.files/runbooks');
    // Argo CD's own default revision, a GitLab subgroup and a path of the environment's folder.
    expect(base({ gitops: { argocd: { repoURL: 'https://gitlab.example.com/platform/sre/obs', path: 'deploy/prod' } } })).toBe(
      'https://gitlab.example.com/platform/sre/obs/blob/HEAD/deploy/prod.files/runbooks',
    );
  });

  it('is "runbooks", relative to the files folder, without a repository or with one reached over ssh', () => {
    expect(base({})).toBe('runbooks');
    expect(base({ gitops: { argocd: { repoURL: 'git@github.com:acme/obs.git' } } })).toBe('runbooks');
    expect(base({ gitops: { argocd: { repoURL: 'ssh://git@github.com/acme/obs.git' } } })).toBe('runbooks');
    expect(base({ gitops: { argocd: { repoURL: 'https://git.example.com/obs.git' } } })).toBe('runbooks');
  });

  it('is what the environment sets, whatever its repository', () => {
    expect(base({ gitops: { argocd: { repoURL: 'https://github.com/acme/obs.git' } } }, 'https://wiki.example.com/runbooks')).toBe('https://wiki.example.com/runbooks');
    expect(() => base({}, '')).toThrow(/alerting\.runbookBaseUrl/);
  });
});
