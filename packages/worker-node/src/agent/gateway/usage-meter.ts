import type { IncomingHttpHeaders } from "node:http";
import { SseUsageReader } from "./sse-usage.js";
import { readUsage, type TokenCount } from "./usage-fields.js";

// A non-streamed completion is read whole for its usage; one larger than this is passed on uncounted.
const MAX_JSON_BYTES = 8 * 1024 * 1024;

/** Counts the tokens a response reports while the gateway passes it on: fed every chunk, then ended. */
export interface UsageMeter {
  readonly tokens: TokenCount;
  push(chunk: Buffer): void;
  end(): void;
}

/** The meter for a response, by its headers: server-sent events, a JSON body, or nothing readable. */
export function usageMeter(headers: IncomingHttpHeaders): UsageMeter {
  const encoding = headers["content-encoding"];
  // The gateway asks for identity; a provider that compresses anyway is passed on uncounted.
  if (encoding !== undefined && encoding !== "identity") return { tokens: { input: 0, output: 0 }, push() {}, end() {} };
  if (/^\s*text\/event-stream/i.test(headers["content-type"] ?? "")) return new SseUsageReader();
  return jsonUsage();
}

function jsonUsage(): UsageMeter {
  const tokens: TokenCount = { input: 0, output: 0 };
  let chunks: Buffer[] | undefined = [];
  let bytes = 0;
  return {
    tokens,
    push(chunk) {
      bytes += chunk.length;
      if (bytes > MAX_JSON_BYTES) chunks = undefined;
      chunks?.push(chunk);
    },
    end() {
      if (chunks === undefined) return;
      try {
        readUsage(JSON.parse(Buffer.concat(chunks).toString("utf8")), tokens);
      } catch {
        // Not JSON (an HTML error page, a truncated body): no usage in it.
      }
      chunks = undefined;
    },
  };
}
