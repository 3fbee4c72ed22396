/**
 * The model provider of (l), a process of its own (as a provider is never in the worker's process): an
 * OpenAI-compatible `POST <any>/chat/completions` that always streams server-sent events, stateless, deciding
 * from the request:
 *   model "bench-short"          three chunks ("ok", stop, usage) and [DONE], in one write;
 *   model "bench-long", max_tokens N   about N bytes of 1 KiB content chunks, written as the socket takes them;
 *   any other model (opencode's)  a title when the request offers no tools, else the text "done"; each such
 *                                 request is announced on stdout as `{"request":{"tools":K}}` when it arrives.
 * Prints `{"port":N}` once it listens on 127.0.0.1.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

interface ChatRequest {
  model?: string;
  max_tokens?: number;
  tools?: unknown[];
}

const USAGE = { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 };
/** Long streams are written in batches of events this big, so a write is not one syscall per event. */
const BATCH_BYTES = 64 * 1024;

const chunk = (fields: object): string =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 0, model: "bench", ...fields })}\n\n`;
const say = (text: string): string =>
  chunk({ choices: [{ index: 0, delta: { role: "assistant", content: text } }] }) +
  chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) +
  chunk({ choices: [], usage: USAGE }) +
  "data: [DONE]\n\n";

const SHORT_ANSWER = say("ok");
const CONTENT_EVENT = chunk({ choices: [{ index: 0, delta: { content: "x".repeat(1024) } }] });
const BATCH = Buffer.from(CONTENT_EVENT.repeat(Math.floor(BATCH_BYTES / CONTENT_EVENT.length)));
const LONG_END = Buffer.from(say(""));

const server = http.createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (request, response) => {
  answer(request, response).catch((error: unknown) => response.destroy(error as Error));
});

async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const data of request) chunks.push(data as Buffer);
  const chat = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatRequest;
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  if (chat.model === "bench-short") return void response.end(SHORT_ANSWER);
  if (chat.model === "bench-long") return writeLong(response, chat.max_tokens ?? 0);
  const tools = chat.tools?.length ?? 0;
  process.stdout.write(`${JSON.stringify({ request: { tools } })}\n`);
  response.end(say(tools === 0 ? "Bench title" : "done"));
}

/** Whole batches until at least `bytes` are written, honouring backpressure as a real provider's server does. */
async function writeLong(response: ServerResponse, bytes: number): Promise<void> {
  for (let written = 0; written < bytes; written += BATCH.length) {
    if (!response.write(BATCH)) await drained(response);
    if (response.destroyed) return; // the client hung up
  }
  response.end(LONG_END);
}

function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off("drain", done).off("close", done);
      resolve();
    };
    response.on("drain", done).on("close", done);
  });
}

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.once("SIGTERM", () => {
  server.closeAllConnections();
  server.close();
});
