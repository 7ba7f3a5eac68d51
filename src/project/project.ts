import type { Environment } from '../config/index.js';
import { loadEnvironments } from '../cli/load-environments.js';
import { contentReferences, type ProjectContent, withStackContent } from './content.js';
import { environmentFiles, type LoadOptions, loadProjectContent, type ProjectLayout, projectLayout } from './load.js';

/** A team's repository, loaded: where things are, the stack's content with the team's, and its environments. */
export interface Project {
  readonly layout: ProjectLayout;
  /** The team's own rule areas, dashboards and metric catalog entries (synthesis adds the stack's). */
  readonly content: ProjectContent;
  /** Every environment file of the project, validated together (every problem of every file in one error). */
  readonly environments: readonly Environment[];
}

export interface LoadProjectOptions extends LoadOptions {
  /** Environment names to load. @default - every file in the environments folder */
  readonly environments?: readonly string[];
}

/**
 * Loads the project at `root`: its layout (package.json's `obstack` key), its
 * rules/, dashboards/ and metrics/ (TypeScript or JavaScript, compiled on the
 * fly), and its environment files, each checked against the alerts and
 * dashboards that exist with the team's content.
 */
export async function loadProject(root = '.', opts: LoadProjectOptions = {}): Promise<Project> {
  const layout = projectLayout(root);
  const content = await loadProjectContent(layout, opts);
  const all = withStackContent(content);
  const environments = loadEnvironments(environmentFiles(layout, opts.environments ?? []), (env) => contentReferences(env, all));
  return { layout, content, environments };
}
