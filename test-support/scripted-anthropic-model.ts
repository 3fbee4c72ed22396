import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { contentText, type ToolResult, type Turn } from "./scripted-model.js";

/**
 * A scripted model on loopback that speaks Anthropic's Messages API, for driving the real opencode through
 * "@ai-sdk/anthropic": it answers `POST /v1/messages` with the server-sent events Anthropic streams, plays the same
 * script as the OpenAI-compatible one (`scripted-model.ts`), and records every request's credentials and tools.
 */

export interface AnthropicRequest {
  /** The `x-api-key` header, as the model's server received it (a gateway adds it). */
  apiKey: string | undefined;
  /** The `authorization` header: Anthropic's key travels in `x-api-key`, so a gateway must not send one. */
  authorization: string | undefined;
  anthropicVersion: string | undefined;
  /** The tool names offered in `tools`; empty for the title request. */
  tools: string[];
  /** Every tool result in the conversation so far, in order (user content blocks of type "tool_result"). */
  toolResults: ToolResult[];
}

export interface ScriptedAnthropicModel {
  /** The provider's base URL, `http://127.0.0.1:PORT/v1`: the SDK posts to `${baseURL}/messages`. */
  baseURL: string;
  requests: AnthropicRequest[];
  /** Plays `script` from the next request on, with `requests` emptied: one server for a suite's tests. */
  setScript(script: Turn[]): void;
  close(): Promise<void>;
}

interface MessagesRequest {
  tools?: { name: string }[];
  messages: { role: string; content: string | { type: string; tool_use_id?: string; content?: unknown }[] }[];
}

/** The tokens every scripted answer reports: input in `message_start`, output in `message_delta`. */
export const SCRIPTED_ANTHROPIC_USAGE = { input_tokens: 100, output_tokens: 20 };

/**
 * Turn `n` answers the request that holds `n` tool results, so the server is stateless per run: a request without
 * tools is opencode's title request and gets a title. Past the script's end it says "done". A path other than
 * `POST /v1/messages` is a 404, so a wrong base path fails the run instead of passing unnoticed.
 */
export async function startScriptedAnthropicModel(firstScript: Turn[]): Promise<ScriptedAnthropicModel> {
  let script = firstScript;
  const requests: AnthropicRequest[] = [];
  const server = http.createServer((req, res) => {
    void answer(req, res).catch((error: unknown) => {
      res.destroy(error as Error);
    });
  });

  async function answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    if (req.method !== "POST" || req.url !== "/v1/messages") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "error", error: { type: "not_found_error", message: `no ${req.method} ${req.url}` } }));
      return;
    }
    const messages = JSON.parse(body) as MessagesRequest;
    const toolResults = messages.messages.flatMap((message) =>
      typeof message.content === "string"
        ? []
        : message.content
            .filter((block) => block.type === "tool_result")
            .map((block) => ({ toolCallId: block.tool_use_id ?? "", content: contentText(block.content) })),
    );
    const tools = (messages.tools ?? []).map((tool) => tool.name);
    requests.push({
      apiKey: header(req, "x-api-key"),
      authorization: req.headers.authorization,
      anthropicVersion: header(req, "anthropic-version"),
      tools,
      toolResults,
    });

    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (type: string, data: object): boolean => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    const message = { id: `msg_${requests.length}`, type: "message", role: "assistant", model: "scripted", content: [], stop_reason: null };
    send("message_start", { message: { ...message, usage: { input_tokens: SCRIPTED_ANTHROPIC_USAGE.input_tokens, output_tokens: 0 } } });
    const turn: Turn = tools.length === 0 ? { say: "Worker e2e" } : (script[toolResults.length] ?? { say: "done" });
    if ("say" in turn) {
      send("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
      send("content_block_delta", { index: 0, delta: { type: "text_delta", text: turn.say } });
    } else {
      const args = typeof turn.args === "function" ? await turn.args(toolResults) : turn.args;
      const block = { type: "tool_use", id: `toolu_${toolResults.length}`, name: turn.tool, input: {} };
      send("content_block_start", { index: 0, content_block: block });
      send("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: JSON.stringify(args) } });
    }
    send("content_block_stop", { index: 0 });
    const stopReason = "say" in turn ? "end_turn" : "tool_use";
    send("message_delta", {
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: SCRIPTED_ANTHROPIC_USAGE.output_tokens },
    });
    send("message_stop", {});
    res.end();
  }

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

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
