import { ConfigError, type Environment, teamFolder } from '../config/index.js';
import { suggestName } from '../authoring/index.js';
import { type ProjectContent, sourceOf } from './content.js';

/**
 * The Grafana folder of each team's dashboards in one environment, after
 * checking that every team a rule area or dashboard names is one of the
 * environment's teams (all unknown names reported together).
 */
export function teamFolderOf(env: Environment, content: ProjectContent): (team: string) => string {
  const teams = Object.keys(env.teams);
  const owners = [...content.ruleAreas.map((a) => ({ what: `rule area "${a.name}"`, item: a })), ...content.dashboards.map((d) => ({ what: `dashboard "${d.uid}"`, item: d }))];
  const issues = owners
    .filter(({ item }) => item.team !== undefined && !teams.includes(item.team))
    .map(({ what, item }) => {
      const near = suggestName(item.team ?? '', teams);
      const file = sourceOf(item);
      return {
        path: 'teams',
        message: `has no team "${item.team}", which ${what}${file ? ` (${file})` : ''} belongs to${near ? `; did you mean "${near}"?` : teams.length > 0 ? ` (teams: ${teams.join(', ')})` : '; add it under teams:'}`,
      };
    });
  if (issues.length > 0) throw new ConfigError(`environment "${env.name}"`, issues);
  return (team) => teamFolder(env, team);
}
