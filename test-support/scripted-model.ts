import type http from "node:http";
import { contentText, startScriptedServer, type Answer, type ScriptedRequest, type ScriptedServer, type Turn } from "./scripted-server.js";

/**
 * A scripted OpenAI-compatible model on loopback for driving the real opencode: it speaks the streaming
 * chat-completions wire (server-sent `chat.completion.chunk`s) on any path, plays a script (scripted-server.ts)
 * and records each request's Authorization header.
 */

export type { ToolResult, Turn } from "./scripted-server.js";

export interface ModelRequest extends ScriptedRequest {
  /** The request's `authorization` header, as the model's server received it (a gateway adds it). */
  authorization: string | undefined;
}

export type ScriptedModel = ScriptedServer<ModelRequest>;

interface ChatRequest {
  tools?: { function: { name: string } }[];
  messages: { role: string; tool_call_id?: string; content?: unknown }[];
}

/** The tokens every scripted answer reports. */
export const SCRIPTED_USAGE = { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 };

export function startScriptedModel(script: Turn[]): Promise<ScriptedModel> {
  return startScriptedServer({ read, write }, script);
}

function read(req: http.IncomingMessage, body: string): ModelRequest {
  const chat = JSON.parse(body) as ChatRequest;
  return {
    authorization: req.headers.authorization,
    tools: (chat.tools ?? []).map((entry) => entry.function.name),
    toolResults: chat.messages
      .filter((message) => message.role === "tool")
      .map((message) => ({ toolCallId: message.tool_call_id ?? "", content: contentText(message.content) })),
  };
}

function write(res: http.ServerResponse, answer: Answer): void {
  const chunk = (fields: object): string =>
    `data: ${JSON.stringify({ id: "chatcmpl-e2e", object: "chat.completion.chunk", created: 0, model: "fake", ...fields })}\n\n`;
  const send = (choice: object): boolean => res.write(chunk({ choices: [choice] }));
  if ("say" in answer) {
    send({ index: 0, delta: { role: "assistant", content: answer.say } });
    send({ index: 0, delta: {}, finish_reason: "stop" });
  } else {
    const call = { index: 0, id: `call_${answer.n}`, type: "function", function: { name: answer.tool, arguments: "" } };
    send({ index: 0, delta: { role: "assistant", tool_calls: [call] } });
    send({ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: JSON.stringify(answer.args) } }] } });
    send({ index: 0, delta: {}, finish_reason: "tool_calls" });
  }
  // Every answer reports its usage, as OpenAI does with stream_options.include_usage: a last chunk without choices.
  res.write(chunk({ choices: [], usage: SCRIPTED_USAGE }));
  res.end("data: [DONE]\n\n");
}
