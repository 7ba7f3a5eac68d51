import { arrayAt, kindOf, namespaceOf, objectRef, stringAt } from "./kubernetes-object.js";

/** Which ServiceAccounts the RoleBindings and ClusterRoleBindings of an object set grant a role to. */
export class ServiceAccountBindings {
  private readonly byAccount = new Map<string, string[]>();
  private readonly byNamespace = new Map<string, string[]>();
  private readonly everyAccount: string[] = [];

  constructor(objects: readonly unknown[]) {
    objects.forEach((object, index) => {
      const kind = kindOf(object);
      if (kind !== "RoleBinding" && kind !== "ClusterRoleBinding") return;
      const ref = objectRef(object, index);
      // A RoleBinding's ServiceAccount subject without a namespace means the binding's own namespace.
      const defaultNamespace = kind === "RoleBinding" ? namespaceOf(object) : undefined;
      for (const subject of arrayAt(object, "subjects")) {
        const subjectKind = stringAt(subject, "kind");
        const name = stringAt(subject, "name");
        if (name === undefined) continue;
        if (subjectKind === "ServiceAccount") {
          push(this.byAccount, key(stringAt(subject, "namespace") ?? defaultNamespace, name), ref);
        } else if (subjectKind === "Group") {
          if (name === "system:serviceaccounts" || name === "system:authenticated") this.everyAccount.push(ref);
          else if (name.startsWith("system:serviceaccounts:")) push(this.byNamespace, name.slice("system:serviceaccounts:".length), ref);
        }
      }
    });
  }

  /** The bindings that grant the ServiceAccount a role (empty when none does). */
  bindingsOf(namespace: string | undefined, name: string): string[] {
    return [
      ...(this.byAccount.get(key(namespace, name)) ?? []),
      ...(namespace === undefined ? [] : (this.byNamespace.get(namespace) ?? [])),
      ...this.everyAccount,
    ];
  }
}

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

function push(map: Map<string, string[]>, k: string, value: string): void {
  const list = map.get(k);
  if (list) list.push(value);
  else map.set(k, [value]);
}
