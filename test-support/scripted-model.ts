import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A scripted OpenAI-compatible model on loopback for driving the real opencode: it speaks the
 * streaming chat-completions wire (server-sent `chat.completion.chunk`s), answers each request from
 * a script, and records every request so a test can assert what opencode offered and sent back.
 */

/** What the model saw of one tool call's result: opencode's `role: "tool"` message. */
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

export interface ModelRequest {
  /** The request's `authorization` header, as the model's server received it (a gateway adds it). */
  authorization: string | undefined;
  /** The tool names offered in `tools`; empty for the title request. */
  tools: string[];
  /** Every tool result in the conversation so far, in order. */
  toolResults: ToolResult[];
}

export interface ScriptedModel {
  /** The provider's `baseURL` for opencode's config. */
  baseURL: string;
  requests: ModelRequest[];
  /** Plays `script` from the next request on, with `requests` emptied: one server for a suite's tests. */
  setScript(script: Turn[]): void;
  close(): Promise<void>;
}

interface ChatRequest {
  tools?: { function: { name: string } }[];
  messages: { role: string; tool_call_id?: string; content?: unknown }[];
}

/** The tokens every scripted answer reports. */
export const SCRIPTED_USAGE = { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 };

/**
 * Turn `n` answers the request that holds `n` tool results, so the server is stateless per run:
 * a request without tools is opencode's title request and gets a title. Past the script's end it says "done".
 */
export async function startScriptedModel(firstScript: Turn[]): Promise<ScriptedModel> {
  let script = firstScript;
  const requests: ModelRequest[] = [];
  const server = http.createServer((req, res) => {
    void answer(req, res).catch((error: unknown) => {
      res.destroy(error as Error);
    });
  });

  async function answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    const chat = JSON.parse(body) as ChatRequest;
    const toolResults = chat.messages
      .filter((message) => message.role === "tool")
      .map((message) => ({ toolCallId: message.tool_call_id ?? "", content: contentText(message.content) }));
    const tools = (chat.tools ?? []).map((entry) => entry.function.name);
    requests.push({ authorization: req.headers.authorization, tools, toolResults });

    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (choice: object): boolean =>
      res.write(
        `data: ${JSON.stringify({ id: "chatcmpl-e2e", object: "chat.completion.chunk", created: 0, model: "fake", choices: [choice] })}\n\n`,
      );
    const turn: Turn = tools.length === 0 ? { say: "Worker e2e" } : (script[toolResults.length] ?? { say: "done" });
    if ("say" in turn) {
      send({ index: 0, delta: { role: "assistant", content: turn.say } });
      send({ index: 0, delta: {}, finish_reason: "stop" });
    } else {
      const args = typeof turn.args === "function" ? await turn.args(toolResults) : turn.args;
      const call = { index: 0, id: `call_${toolResults.length}`, type: "function", function: { name: turn.tool, arguments: "" } };
      send({ index: 0, delta: { role: "assistant", tool_calls: [call] } });
      send({ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: JSON.stringify(args) } }] } });
      send({ index: 0, delta: {}, finish_reason: "tool_calls" });
    }
    // Every answer reports its usage, as OpenAI does with stream_options.include_usage: a last chunk without choices.
    res.write(
      `data: ${JSON.stringify({ id: "chatcmpl-e2e", object: "chat.completion.chunk", created: 0, model: "fake", choices: [], usage: SCRIPTED_USAGE })}\n\n`,
    );
    res.end("data: [DONE]\n\n");
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

/** A tool result's content is a string, or (from some providers, and Anthropic's tool_result blocks) a list of text parts. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part: { text?: string }) => part.text ?? "").join("");
  return JSON.stringify(content);
}
