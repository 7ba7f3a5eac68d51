import { arrayAt, isRecord, stringAt, stringMapAt } from "./kubernetes-object.js";

/**
 * Whether a LabelSelector (matchLabels and matchExpressions, ANDed) selects a
 * set of labels. An empty selector selects everything, as in a NetworkPolicy's
 * `podSelector: {}`; a selector that is not an object selects nothing.
 */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (!isRecord(selector)) return false;
  for (const [key, value] of Object.entries(stringMapAt(selector, "matchLabels"))) {
    if (labels[key] !== value) return false;
  }
  for (const expression of arrayAt(selector, "matchExpressions")) {
    const key = stringAt(expression, "key");
    const operator = stringAt(expression, "operator");
    const values = arrayAt(expression, "values").filter((v): v is string => typeof v === "string");
    if (key === undefined) return false;
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    const value = labels[key];
    switch (operator) {
      case "In":
        if (!has || value === undefined || !values.includes(value)) return false;
        break;
      case "NotIn":
        if (has && value !== undefined && values.includes(value)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        // An unknown operator is refused by the API server; selecting nothing is the safe reading.
        return false;
    }
  }
  return true;
}

/** Whether the selector has no requirement at all (and so selects everything). */
export function selectorIsEmpty(selector: unknown): boolean {
  return Object.keys(stringMapAt(selector, "matchLabels")).length === 0 && arrayAt(selector, "matchExpressions").length === 0;
}
