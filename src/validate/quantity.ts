const SUFFIXES: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The value of a Kubernetes quantity ("500m", "1Gi", "1e3", 2), or undefined when it is not one. */
export function parseQuantity(quantity: unknown): number | undefined {
  if (typeof quantity === "number") return Number.isFinite(quantity) ? quantity : undefined;
  if (typeof quantity !== "string") return undefined;
  const match = QUANTITY.exec(quantity);
  if (!match) return undefined;
  const number = Number(match[1]);
  const suffix = match[2] ?? "";
  if (/^[eE]/.test(suffix)) return number * 10 ** Number(suffix.slice(1));
  const factor = SUFFIXES[suffix];
  return factor === undefined ? undefined : number * factor;
}
