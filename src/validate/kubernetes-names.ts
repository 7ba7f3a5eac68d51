/**
 * The name syntaxes of k8s.io/apimachinery/pkg/util/validation, which the API
 * server applies; each function returns the reasons a value is refused (none
 * when it is valid), worded like the API server's own messages.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The API server's limit on the summed size of an object's annotation keys and values. */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;

export function dns1123LabelErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push(`must be no more than 63 characters (has ${value.length})`);
  if (!DNS1123_LABEL.test(value)) {
    errors.push("must be a lowercase RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit");
  }
  return errors;
}

export function dns1123SubdomainErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 253) errors.push(`must be no more than 253 characters (has ${value.length})`);
  if (!DNS1123_SUBDOMAIN.test(value)) {
    errors.push(
      "must be a lowercase RFC 1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
    );
  }
  return errors;
}

/** Service names: a DNS label that must start with a letter, since it becomes a DNS name and an env var prefix. */
export function dns1035LabelErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push(`must be no more than 63 characters (has ${value.length})`);
  if (!DNS1035_LABEL.test(value)) {
    errors.push("must be an RFC 1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit");
  }
  return errors;
}

/** RBAC object names only need to be usable as a URL path segment (so `system:metrics-reader` is fine). */
export function pathSegmentNameErrors(value: string): string[] {
  if (value === "." || value === "..") return [`may not be '${value}'`];
  const errors: string[] = [];
  for (const forbidden of ["/", "%"]) if (value.includes(forbidden)) errors.push(`may not contain '${forbidden}'`);
  return errors;
}

/** Label and annotation keys: an optional DNS-subdomain prefix, '/', and a name of at most 63 characters. */
export function qualifiedNameErrors(value: string): string[] {
  const parts = value.split("/");
  let name: string;
  const errors: string[] = [];
  if (parts.length === 1) {
    name = parts[0] ?? "";
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? "";
    name = parts[1] ?? "";
    if (prefix === "") errors.push("prefix part must be non-empty");
    else for (const e of dns1123SubdomainErrors(prefix)) errors.push(`prefix part ${e}`);
  } else {
    return ["must be a name with an optional DNS subdomain prefix and '/' (e.g. 'example.com/my-name'), with one '/' at most"];
  }
  if (name === "") errors.push("name part must be non-empty");
  else {
    if (name.length > 63) errors.push(`name part must be no more than 63 characters (has ${name.length})`);
    if (!QUALIFIED_NAME_PART.test(name)) {
      errors.push("name part must consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric");
    }
  }
  return errors;
}

export function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 63) errors.push(`must be no more than 63 characters (has ${value.length})`);
  if (!LABEL_VALUE.test(value)) {
    errors.push("must be empty or consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric");
  }
  return errors;
}
