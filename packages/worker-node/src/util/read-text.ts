import type { Readable } from "node:stream";

/** The first `limit` bytes a stream yields, as UTF-8, once it closes ("" for no stream); never rejects. */
export function readText(stream: Readable | null, limit: number): Promise<string> {
  if (!stream) return Promise.resolve("");
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve) => {
    stream.on("data", (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk.subarray(0, limit - size));
      size += chunk.length;
    });
    stream.on("error", () => {});
    stream.once("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}
