/** A step into a JSON value: a property name or an array index. */
export type PathSegment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Formats segments as `spec.containers[0].image`; keys that are not identifiers
 * (label keys like `app.kubernetes.io/name`) are quoted so the path stays unambiguous.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * Turns a JSON pointer (`/spec/containers/0`) into segments, reading `root` to
 * tell array indexes from map keys that happen to be digits.
 */
export function pointerToSegments(pointer: string, root: unknown): PathSegment[] {
  if (pointer === "") return [];
  const segments: PathSegment[] = [];
  let current: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const token = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(current) && /^\d+$/.test(token)) {
      const index = Number(token);
      segments.push(index);
      current = current[index];
    } else {
      segments.push(token);
      current = current !== null && typeof current === "object" ? (current as Record<string, unknown>)[token] : undefined;
    }
  }
  return segments;
}

/** Reads the value at `segments`, or undefined when any step is missing. */
export function valueAt(root: unknown, segments: readonly PathSegment[]): unknown {
  let current: unknown = root;
  for (const segment of segments) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}
