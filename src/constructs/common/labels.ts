/** What identifies one component of one stack, from which every label is computed once. */
export interface ComponentIdentity {
  /** `app.kubernetes.io/name`, also the name of the component's main objects. */
  readonly name: string;
  /** `app.kubernetes.io/instance`: the environment. */
  readonly instance: string;
  /** `app.kubernetes.io/version`: the image tag. */
  readonly version: string;
  /** `app.kubernetes.io/component`: the role the component plays in the stack. */
  readonly component: string;
}

export const PART_OF = 'obstack';
export const MANAGED_BY = 'obstack';

/** The recommended labels of every object of a component. */
export function labelsFor(id: ComponentIdentity): Record<string, string> {
  return {
    'app.kubernetes.io/name': id.name,
    'app.kubernetes.io/instance': id.instance,
    'app.kubernetes.io/version': id.version,
    'app.kubernetes.io/component': id.component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

/** The labels that select a component's pods: the labels minus the version, which changes on upgrade. */
export function selectorFor(id: ComponentIdentity): Record<string, string> {
  return {
    'app.kubernetes.io/name': id.name,
    'app.kubernetes.io/instance': id.instance,
  };
}
