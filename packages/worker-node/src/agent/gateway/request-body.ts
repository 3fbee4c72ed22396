import type { IncomingMessage } from "node:http";
import type { ModelApi } from "./model-api.js";

/** A model request's body is a prompt and its tools: far below this, even with a long history. */
export const MAX_REQUEST_BODY_BYTES = 32 * 1024 * 1024;

/**
 * Reads a request's body whole; undefined when it is longer than `maxBytes`: the rest is left unread (not
 * destroyed, so the refusal can still be answered). Rejects when the sandbox drops the request half-sent.
 */
export function readBody(request: IncomingMessage, maxBytes = MAX_REQUEST_BODY_BYTES): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes <= maxBytes) return void chunks.push(chunk);
      request.off("data", onData).pause();
      resolve(undefined);
    };
    request.on("data", onData);
    request.once("end", () => resolve(Buffer.concat(chunks)));
    request.once("close", () => reject(new Error("the request was closed before its body ended")));
  });
}

/**
 * The body to forward. An OpenAI-compatible streamed chat or completion reports its usage only when asked
 * (`stream_options.include_usage`), so the gateway asks; every other body goes as it came.
 */
export function forwardedBody(api: ModelApi, path: string, body: Buffer): Buffer {
  if (api !== "openai-compatible" || (path !== "/chat/completions" && path !== "/completions")) return body;
  let request: unknown;
  try {
    request = JSON.parse(body.toString("utf8"));
  } catch {
    return body; // the provider says what is wrong with it
  }
  if (typeof request !== "object" || request === null || Array.isArray(request)) return body;
  const fields = request as Record<string, unknown>;
  if (fields.stream !== true) return body;
  const options = fields.stream_options;
  const merged = typeof options === "object" && options !== null && !Array.isArray(options) ? options : {};
  return Buffer.from(JSON.stringify({ ...fields, stream_options: { ...merged, include_usage: true } }));
}
