import { z } from 'zod';
import { DnsLabel } from './primitives.js';

const SCP_LIKE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s/][^\s]*$/;
const GIT_SCHEMES = new Set(['https:', 'http:', 'ssh:', 'git:']);

/**
 * Whether a repository URL is one Argo CD clones with credentials of its own:
 * https/ssh/git URLs or scp-like `git@host:org/repo.git`, never a user's
 * password or token in the URL (a user name alone is allowed for ssh, as in `ssh://git@host/repo`).
 */
export function isGitUrlWithoutCredentials(url: string): boolean {
  if (SCP_LIKE.test(url)) return true;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (!GIT_SCHEMES.has(u.protocol) || u.hostname === '' || u.password !== '') return false;
  // In an http(s) URL a user name is nearly always a token (https://<token>@github.com/...).
  return u.username === '' || u.protocol === 'ssh:';
}

export const GitRepoUrl = z
  .string()
  .refine(isGitUrlWithoutCredentials, 'must be a git URL without credentials, such as "https://github.com/acme/observability.git" or "git@github.com:acme/observability.git"; Argo CD takes the credentials from its repository Secret');

/** An Argo CD Application for this environment, and its share of the root that syncs every environment's Application. */
export const ArgoCdConfig = z
  .strictObject({
    enabled: z.boolean().default(false).describe('write dist/argocd.apps/<env>.yaml and dist/argocd.apps/root.yaml'),
    repoURL: GitRepoUrl.optional().describe('the git repository that holds the committed dist/; required when enabled'),
    targetRevision: z.string().min(1).default('HEAD').describe('branch, tag or commit Argo CD syncs'),
    path: z
      .string()
      .regex(/^[^/].*[^/]$|^[^/]$/, 'must be a path inside the repository, without a leading or trailing "/"')
      .refine((p) => !p.split('/').includes('..'), 'must not contain ".."')
      .optional()
      .describe('folder of the environment in the repository; @default dist/<env>'),
    project: DnsLabel.default('default').describe('Argo CD AppProject of the Applications'),
    namespace: DnsLabel.default('argocd').describe('namespace Argo CD runs in, where its Application objects live'),
    automated: z
      .strictObject({
        prune: z.boolean().default(true).describe('delete objects that are no longer in the output'),
        selfHeal: z.boolean().default(true).describe('revert changes made to the cluster outside git'),
      })
      .prefault({})
      .describe('automated sync; the output in git is the whole desired state, so both are on by default'),
  })
  .superRefine((a, ctx) => {
    if (a.enabled && a.repoURL === undefined) {
      ctx.addIssue({ code: 'custom', path: ['repoURL'], message: 'is required when gitops.argocd.enabled is true: the git repository Argo CD reads dist/ from' });
    }
  });
export type ArgoCdConfig = z.output<typeof ArgoCdConfig>;

export const GitOpsConfig = z.strictObject({
  argocd: ArgoCdConfig.prefault({}),
});
export type GitOpsConfig = z.output<typeof GitOpsConfig>;
