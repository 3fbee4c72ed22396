import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * What every scripted model shares, whatever wire it speaks (scripted-model.ts: OpenAI's chat completions,
 * scripted-anthropic-model.ts: Anthropic's Messages): a loopback server that plays a script of turns, one per
 * request, and records each request so a test can assert what opencode offered and sent back.
 */

/** What the model saw of one tool call's result. */
export interface ToolResult {
  toolCallId: string;
  content: string;
}

/** A turn of the script: call one tool, or say text (which ends the run). */
export type Turn =
  | {
      tool: string;
      /**
       * The call's arguments; a function of the tool results so far can use an earlier result (a job id),
       * or look at the world between two calls (it is awaited before the call is sent).
       */
      args: Record<string, unknown> | ((results: ToolResult[]) => Record<string, unknown> | Promise<Record<string, unknown>>);
    }
  | { say: string };

/** What every recorded request holds; a wire adds its headers. */
export interface ScriptedRequest {
  /** The tool names offered; empty for the title request. */
  tools: string[];
  /** Every tool result in the conversation so far, in order. */
  toolResults: ToolResult[];
}

/** The answer to write: text, or a call (its arguments resolved) numbered `n` within the run. */
export type Answer = { say: string } | { tool: string; args: Record<string, unknown>; n: number };

/** One wire: how a request is read and an answer written. */
export interface ScriptedWire<R extends ScriptedRequest> {
  /** The request as recorded; undefined when it is not this wire's route (answered 404). */
  read(req: http.IncomingMessage, body: string): R | undefined;
  /** Streams the answer as the wire's server-sent events, and ends the response. */
  write(res: http.ServerResponse, answer: Answer): void;
}

export interface ScriptedServer<R extends ScriptedRequest> {
  /** The provider's `baseURL` for opencode's config: `http://127.0.0.1:PORT/v1`. */
  baseURL: string;
  requests: R[];
  /** Plays `script` from the next request on, with `requests` emptied: one server for a suite's tests. */
  setScript(script: Turn[]): void;
  close(): Promise<void>;
}

/**
 * Turn `n` answers the request that holds `n` tool results, so the server is stateless per run: a request without
 * tools is opencode's title request and gets a title. Past the script's end it says "done".
 */
export async function startScriptedServer<R extends ScriptedRequest>(
  wire: ScriptedWire<R>,
  firstScript: Turn[],
): Promise<ScriptedServer<R>> {
  let script = firstScript;
  const requests: R[] = [];
  const answer = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    const request = wire.read(req, body);
    if (request === undefined) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: `no ${req.method} ${req.url}` }));
      return;
    }
    requests.push(request);
    const { tools, toolResults } = request;
    const turn: Turn = tools.length === 0 ? { say: "Worker e2e" } : (script[toolResults.length] ?? { say: "done" });
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    if ("say" in turn) return wire.write(res, turn);
    const args = typeof turn.args === "function" ? await turn.args(toolResults) : turn.args;
    wire.write(res, { tool: turn.tool, args, n: toolResults.length });
  };
  const server = http.createServer((req, res) => {
    void answer(req, res).catch((error: unknown) => {
      res.destroy(error as Error);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    setScript(next) {
      script = next;
      requests.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A tool result's content is a string, or (from some providers, and Anthropic's tool_result blocks) a list of text parts. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part: { text?: string }) => part.text ?? "").join("");
  return JSON.stringify(content);
}
