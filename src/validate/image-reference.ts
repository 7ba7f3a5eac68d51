/** The parts of a container image reference `[registry/]repository[:tag][@digest]`. */
export interface ImageReference {
  /** Registry host, when the first component names one (has a '.' or ':' or is localhost). */
  registry: string | undefined;
  /** Repository path without registry, e.g. `prom/prometheus`. */
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

export function parseImageReference(image: string): ImageReference {
  const at = image.indexOf("@");
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const name = at >= 0 ? image.slice(0, at) : image;
  // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
  const colon = name.lastIndexOf(":");
  const tag = colon > name.lastIndexOf("/") ? name.slice(colon + 1) : undefined;
  const path = tag === undefined ? name : name.slice(0, colon);
  const parts = path.split("/");
  const first = parts[0] ?? "";
  const hasRegistry = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  return {
    registry: hasRegistry ? first : undefined,
    repository: hasRegistry ? parts.slice(1).join("/") : path,
    tag,
    digest,
  };
}
