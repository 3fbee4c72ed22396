/**
 * `--json` output: one JSON value a line. Byte fields (output, a result's stdout) become UTF-8
 * text, as the job wrote it, rather than JSON.stringify's `{"type":"Buffer","data":[...]}`.
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, bytesAsText)}\n`);
}

function bytesAsText(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // Buffer's own toJSON has run by now: the raw value is still on the holder.
  const raw = this[key];
  return raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8") : value;
}
