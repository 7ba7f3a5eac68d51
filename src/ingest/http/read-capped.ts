/**
 * An upstream's answer body as text, refused with `tooLarge()` as soon as it
 * exceeds `maxBytes`: by its Content-Length before reading, else while it
 * streams, so that a huge or endless answer costs at most `maxBytes`.
 */
export async function readCapped(res: Response, maxBytes: number, tooLarge: () => Error): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}
