import type http from "node:http";
import { contentText, startScriptedServer, type Answer, type ScriptedRequest, type ScriptedServer, type Turn } from "./scripted-server.js";

/**
 * A scripted model on loopback that speaks Anthropic's Messages API, for driving the real opencode through
 * "@ai-sdk/anthropic": it answers `POST /v1/messages` with the server-sent events Anthropic streams, plays the same
 * script as the OpenAI-compatible one (scripted-server.ts), and records every request's credentials. Any other
 * route is a 404, so a wrong base path fails the run instead of passing unnoticed.
 */

export interface AnthropicRequest extends ScriptedRequest {
  /** The `x-api-key` header, as the model's server received it (a gateway adds it). */
  apiKey: string | undefined;
  /** The `authorization` header: Anthropic's key travels in `x-api-key`, so a gateway must not send one. */
  authorization: string | undefined;
  anthropicVersion: string | undefined;
}

export type ScriptedAnthropicModel = ScriptedServer<AnthropicRequest>;

interface MessagesRequest {
  tools?: { name: string }[];
  messages: { role: string; content: string | { type: string; tool_use_id?: string; content?: unknown }[] }[];
}

/** The tokens every scripted answer reports: input in `message_start`, output in `message_delta`. */
export const SCRIPTED_ANTHROPIC_USAGE = { input_tokens: 100, output_tokens: 20 };

export function startScriptedAnthropicModel(script: Turn[]): Promise<ScriptedAnthropicModel> {
  return startScriptedServer({ read, write }, script);
}

function read(req: http.IncomingMessage, body: string): AnthropicRequest | undefined {
  if (req.method !== "POST" || req.url !== "/v1/messages") return undefined;
  const messages = JSON.parse(body) as MessagesRequest;
  return {
    apiKey: header(req, "x-api-key"),
    authorization: req.headers.authorization,
    anthropicVersion: header(req, "anthropic-version"),
    tools: (messages.tools ?? []).map((tool) => tool.name),
    // Tool results come back as user content blocks of type "tool_result".
    toolResults: messages.messages.flatMap((message) =>
      typeof message.content === "string"
        ? []
        : message.content
            .filter((block) => block.type === "tool_result")
            .map((block) => ({ toolCallId: block.tool_use_id ?? "", content: contentText(block.content) })),
    ),
  };
}

function write(res: http.ServerResponse, answer: Answer): void {
  const send = (type: string, data: object): boolean => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  const message = { id: "msg_scripted", type: "message", role: "assistant", model: "scripted", content: [], stop_reason: null };
  send("message_start", { message: { ...message, usage: { input_tokens: SCRIPTED_ANTHROPIC_USAGE.input_tokens, output_tokens: 0 } } });
  if ("say" in answer) {
    send("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
    send("content_block_delta", { index: 0, delta: { type: "text_delta", text: answer.say } });
  } else {
    send("content_block_start", { index: 0, content_block: { type: "tool_use", id: `toolu_${answer.n}`, name: answer.tool, input: {} } });
    send("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: JSON.stringify(answer.args) } });
  }
  send("content_block_stop", { index: 0 });
  send("message_delta", {
    delta: { stop_reason: "say" in answer ? "end_turn" : "tool_use", stop_sequence: null },
    usage: { output_tokens: SCRIPTED_ANTHROPIC_USAGE.output_tokens },
  });
  send("message_stop", {});
  res.end();
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}
