/** Where an environment's generated runbook pages are written, relative to its files folder (`dist/<env>.files/`). */
export const RUNBOOKS_DIR = 'runbooks';

interface RunbookBaseInput {
  readonly name: string;
  readonly alerting: { readonly runbookBaseUrl?: string | undefined };
  readonly gitops: { readonly argocd: { readonly repoURL?: string | undefined; readonly targetRevision: string; readonly path?: string | undefined } };
}

/**
 * The web address of a repository's files at one revision, for an https URL
 * of a GitHub- or GitLab-style host (`https://github.com/acme/obs.git` →
 * `https://github.com/acme/obs/blob/<revision>`); undefined for any other URL
 * (ssh, scp-like, a path that is not owner/name), whose pages cannot be derived.
 */
function blobBase(repoURL: string, revision: string): string | undefined {
  let u: URL;
  try {
    u = new URL(repoURL);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'https:' || u.username !== '' || u.search !== '' || u.hash !== '') return undefined;
  const path = u.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
  if (path.split('/').filter(Boolean).length < 2) return undefined;
  return `${u.origin}${path}/blob/${revision}`;
}

/**
 * The runbook base of an environment that does not set `alerting.runbookBaseUrl`:
 * the generated pages in the git repository Argo CD reads (`gitops.argocd.repoURL`,
 * at `targetRevision`, in the files folder next to `path`) when that is an https
 * URL of a GitHub- or GitLab-style host, otherwise `runbooks`, relative to `dist/<env>.files/`.
 */
export function defaultRunbookBaseUrl(env: RunbookBaseInput): string {
  const { repoURL, targetRevision, path } = env.gitops.argocd;
  const blob = repoURL === undefined ? undefined : blobBase(repoURL, targetRevision);
  if (blob === undefined) return RUNBOOKS_DIR;
  // The manifests are in <path>, the raw files (and the pages) in <path>.files, as obstack writes them.
  return `${blob}/${path ?? `dist/${env.name}`}.files/${RUNBOOKS_DIR}`;
}

/** An environment with its runbook base resolved: the one it sets, or the default derived from its repository. */
export function withRunbookBaseUrl<E extends RunbookBaseInput>(env: E): E & { readonly alerting: E['alerting'] & { readonly runbookBaseUrl: string } } {
  const runbookBaseUrl = env.alerting.runbookBaseUrl ?? defaultRunbookBaseUrl(env);
  return { ...env, alerting: { ...env.alerting, runbookBaseUrl } };
}
