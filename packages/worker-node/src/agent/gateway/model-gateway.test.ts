import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { mkdtemp, rm, stat } from "node:fs/promises";
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { ModelCall } from "@opencode-worker/shared";
import { startModelGateway, type GatewayUpstream, type ModelGateway, type ModelGatewayOptions } from "./model-gateway.js";

const KEY = "sk-test-SECRET-9f8e7d";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A provider on loopback: records what reached it and answers with `reply`. */
async function startUpstream(reply: (request: Seen, response: ServerResponse, raw: IncomingMessage) => void) {
  const seen: Seen[] = [];
  const server = http.createServer((raw, response) => {
    const chunks: Buffer[] = [];
    raw.on("data", (chunk: Buffer) => chunks.push(chunk));
    raw.on("end", () => {
      const request = { method: raw.method ?? "", url: raw.url ?? "", headers: raw.headers, body: Buffer.concat(chunks).toString() };
      seen.push(request);
      reply(request, response, raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url, seen, close };
}

const json = (body: unknown) => (_request: Seen, response: ServerResponse) =>
  response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));

let dir: string;
const cleanups: (() => Promise<void>)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "ocw-gateway-"));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** A gateway in front of `baseUrl`, with everything it reports collected. */
async function startGateway(
  baseUrl: string,
  overrides: Partial<Omit<ModelGatewayOptions, "upstream">> & { upstream?: Partial<GatewayUpstream> } = {},
) {
  const calls: ModelCall[] = [];
  const spent: string[] = [];
  const logLines: string[] = [];
  const socketPath = join(dir, "model.sock");
  const { upstream, ...rest } = overrides;
  const gateway: ModelGateway = await startModelGateway({
    socketPath,
    upstream: { providerId: "prov", api: "openai-compatible", baseUrl, apiKey: KEY, ...upstream },
    model: "prov/model-a",
    budget: { maxRequests: 100, maxTokens: 1_000_000 },
    onCall: (call) => calls.push(call),
    onBudgetSpent: (note) => spent.push(note),
    log: pino({ level: "trace" }, { write: (line: string) => void logLines.push(line) }),
    ...rest,
  });
  cleanups.push(() => gateway.close());
  return { gateway, calls, spent, logLines, socketPath };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A request to the gateway's socket, as the relay in the sandbox makes it: on a connection of its own unless the test
 * passes an agent (Node's global agent keeps connections alive, and one kept to a gateway a test closed, whose socket
 * path the next gateway reuses, would be written to after its close: EPIPE).
 */
function post(
  socketPath: string,
  path: string,
  body: unknown,
  options: { headers?: Record<string, string>; method?: string; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        socketPath,
        path,
        method: options.method ?? "POST",
        headers: { "content-type": "application/json", ...options.headers },
        agent: options.agent ?? false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body));
  });
}

const chatRequest = { model: "model-a", messages: [{ role: "user", content: "hi" }] };

describe("routes", () => {
  it("forwards a served path with its query to the base URL plus that path, and answers with the provider's response", async () => {
    const upstream = await startUpstream(json({ id: "c1" }));
    cleanups.push(upstream.close);
    const { socketPath, calls } = await startGateway(`${upstream.url}/v1/`);

    const reply = await post(socketPath, "/chat/completions?api-version=2", chatRequest);

    expect(reply).toMatchObject({ status: 200, body: JSON.stringify({ id: "c1" }) });
    expect(upstream.seen).toEqual([expect.objectContaining({ method: "POST", url: "/v1/chat/completions?api-version=2" })]);
    expect(JSON.parse(upstream.seen[0]!.body)).toEqual(chatRequest);
    expect(calls).toEqual([expect.objectContaining({ number: 1, model: "prov/model-a", httpStatus: 200, refused: "" })]);
  });

  it("refuses other paths (404) and other methods (405) without forwarding them, naming what it serves", async () => {
    const upstream = await startUpstream(json({}));
    cleanups.push(upstream.close);
    const { socketPath, gateway, calls } = await startGateway(upstream.url);

    const notServed = await post(socketPath, "/models", chatRequest);
    const wrongMethod = await post(socketPath, "/chat/completions", "", { method: "GET" });
    const otherHost = await post(socketPath, "http://169.254.169.254/latest/meta-data", chatRequest);

    expect([notServed.status, wrongMethod.status, otherHost.status]).toEqual([404, 405, 404]);
    expect(JSON.parse(notServed.body)).toEqual({
      error: { type: "gateway_refused", message: expect.stringContaining("/chat/completions") },
    });
    expect(upstream.seen).toEqual([]);
    expect(gateway.usage()).toEqual({ requests: 0, inputTokens: 0, outputTokens: 0, refusedRequests: 3 });
    expect(calls.map((call) => [call.number, call.httpStatus, call.refused !== ""])).toEqual([
      [1, 404, true],
      [2, 405, true],
      [3, 404, true],
    ]);
  });

  it("serves anthropic's paths only for an anthropic provider, with errors in anthropic's shape", async () => {
    const upstream = await startUpstream(json({}));
    cleanups.push(upstream.close);
    const { socketPath } = await startGateway(upstream.url, { upstream: { api: "anthropic" } });

    const served = await post(socketPath, "/messages/count_tokens", chatRequest);
    const refused = await post(socketPath, "/chat/completions", chatRequest);

    expect([served.status, refused.status]).toEqual([200, 404]);
    expect(JSON.parse(refused.body)).toEqual({
      type: "error",
      error: { type: "gateway_refused", message: expect.stringContaining("/messages") },
    });
    expect(upstream.seen.map((request) => request.url)).toEqual(["/messages/count_tokens"]);
  });

  it("refuses a body over 32 MiB with 413, unforwarded", async () => {
    const upstream = await startUpstream(json({}));
    cleanups.push(upstream.close);
    const { socketPath, gateway } = await startGateway(upstream.url);

    const reply = await post(socketPath, "/chat/completions", Buffer.alloc(32 * 1024 * 1024 + 1, 0x20));

    expect(reply.status).toBe(413);
    expect(upstream.seen).toEqual([]);
    expect(gateway.usage().refusedRequests).toBe(1);
  });
});

describe("credentials", () => {
  const sandboxHeaders = {
    authorization: "Bearer sandbox-token",
    "x-api-key": "sandbox-key",
    "proxy-authorization": "Basic c2FuZGJveA==",
    cookie: "session=sandbox",
    connection: "keep-alive, x-private-hop",
    "x-private-hop": "1",
    "accept-encoding": "gzip, br",
    "x-session-id": "ses_1",
  };

  it("drops what the sandbox sent and adds the provider's key as a bearer token (openai-compatible)", async () => {
    const upstream = await startUpstream(json({}));
    cleanups.push(upstream.close);
    const { socketPath } = await startGateway(upstream.url);

    await post(socketPath, "/chat/completions", chatRequest, { headers: sandboxHeaders });

    const headers = upstream.seen[0]!.headers;
    expect(headers.authorization).toBe(`Bearer ${KEY}`);
    for (const name of ["x-api-key", "proxy-authorization", "cookie", "x-private-hop"]) expect(headers[name]).toBeUndefined();
    expect(headers["accept-encoding"]).toBe("identity");
    expect(headers["x-session-id"]).toBe("ses_1");
  });

  it("adds the key as x-api-key for anthropic, and no credential at all for a keyless provider", async () => {
    const upstream = await startUpstream(json({}));
    cleanups.push(upstream.close);
    const anthropic = await startGateway(upstream.url, { upstream: { api: "anthropic" } });
    await post(anthropic.socketPath, "/messages", chatRequest, { headers: sandboxHeaders });
    await anthropic.gateway.close();
    const keyless = await startGateway(upstream.url, { upstream: { apiKey: "" } });
    await post(keyless.socketPath, "/chat/completions", chatRequest, { headers: sandboxHeaders });

    expect(upstream.seen[0]!.headers["x-api-key"]).toBe(KEY);
    expect(upstream.seen[0]!.headers.authorization).toBeUndefined();
    expect(upstream.seen[1]!.headers.authorization).toBeUndefined();
    expect(upstream.seen[1]!.headers["x-api-key"]).toBeUndefined();
  });

  it("never puts the key in a log line, an error body or a ModelCall", async () => {
    const upstream = await startUpstream(json({ usage: { prompt_tokens: 1, completion_tokens: 1 } }));
    cleanups.push(upstream.close);
    const { socketPath, gateway, calls, logLines } = await startGateway(upstream.url, { budget: { maxRequests: 3, maxTokens: 1000 } });
    const replies = [
      await post(socketPath, "/chat/completions", chatRequest),
      await post(socketPath, "/models", chatRequest),
      await post(socketPath, "/chat/completions", chatRequest),
      await post(socketPath, "/chat/completions", chatRequest),
      await post(socketPath, "/chat/completions", chatRequest), // over the budget
    ];
    await gateway.close();
    const unreachable = await startGateway(upstream.url.replace(/:\d+$/, ":1"));
    replies.push(await post(unreachable.socketPath, "/chat/completions", chatRequest));

    expect(replies.map((reply) => reply.status)).toEqual([200, 404, 200, 200, 429, 502]);
    expect(logLines.length).toBeGreaterThan(0);
    const everything = JSON.stringify([logLines, unreachable.logLines, replies, calls, unreachable.calls]);
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain("SECRET");
  });
});

describe("streaming", () => {
  it("passes each server-sent event through as it arrives (a buffering gateway deadlocks this test)", async () => {
    const received: (() => void)[] = [];
    const nextReceived = () => new Promise<void>((resolve) => received.push(resolve));
    const events = ["one", "two", "three", "four"];
    const writeInLockstep = async (response: ServerResponse) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (const event of events) {
        const delivered = nextReceived();
        response.write(`data: {"text":"${event}"}\n\n`);
        await delivered;
      }
      response.end("data: [DONE]\n\n");
    };
    const upstream = await startUpstream((_request, response) => void writeInLockstep(response));
    cleanups.push(upstream.close);
    const { socketPath } = await startGateway(upstream.url);

    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const request = http.request({ socketPath, path: "/chat/completions", method: "POST" }, (response) => {
        response.on("data", (chunk: Buffer) => {
          seen.push(chunk.toString());
          received.shift()?.();
        });
        response.on("end", resolve);
      });
      request.on("error", reject);
      request.end(JSON.stringify({ ...chatRequest, stream: true }));
    });

    expect(seen.join("")).toBe(events.map((event) => `data: {"text":"${event}"}\n\n`).join("") + "data: [DONE]\n\n");
  }, 5000);
});

describe("usage", () => {
  const sse =
    (...events: unknown[]) =>
    (_request: Seen, response: ServerResponse) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (const event of events) response.write(`data: ${typeof event === "string" ? event : JSON.stringify(event)}\n\n`);
      response.end();
    };

  it("asks an OpenAI-compatible stream for its usage and counts it from the last chunk", async () => {
    const upstream = await startUpstream(
      sse(
        { choices: [{ delta: { content: "hello" } }] },
        { choices: [], usage: { prompt_tokens: 120, completion_tokens: 7, total_tokens: 127 } },
        "[DONE]",
      ),
    );
    cleanups.push(upstream.close);
    const { socketPath, gateway, calls } = await startGateway(upstream.url);

    await post(socketPath, "/chat/completions", { ...chatRequest, stream: true, stream_options: { other: 1 } });
    await post(socketPath, "/chat/completions", chatRequest);

    expect(JSON.parse(upstream.seen[0]!.body)).toEqual({ ...chatRequest, stream: true, stream_options: { other: 1, include_usage: true } });
    expect(JSON.parse(upstream.seen[1]!.body)).toEqual(chatRequest);
    expect(calls[0]).toMatchObject({ inputTokens: 120, outputTokens: 7 });
    expect(gateway.usage()).toEqual({ requests: 2, inputTokens: 240, outputTokens: 14, refusedRequests: 0 });
  });

  it("counts an Anthropic stream from message_start and message_delta", async () => {
    const upstream = await startUpstream(
      sse(
        { type: "message_start", message: { id: "m", usage: { input_tokens: 30, output_tokens: 1 } } },
        { type: "content_block_delta", delta: { type: "text_delta", text: "hi" } },
        { type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 42 } },
        { type: "message_stop" },
      ),
    );
    cleanups.push(upstream.close);
    const { socketPath, calls } = await startGateway(upstream.url, { upstream: { api: "anthropic" } });

    await post(socketPath, "/messages", { ...chatRequest, stream: true });

    expect(JSON.parse(upstream.seen[0]!.body)).toEqual({ ...chatRequest, stream: true });
    expect(calls[0]).toMatchObject({ inputTokens: 30, outputTokens: 42 });
  });

  it("counts non-streamed JSON bodies of both APIs", async () => {
    const openai = await startUpstream(json({ choices: [], usage: { prompt_tokens: 11, completion_tokens: 3 } }));
    const anthropic = await startUpstream(json({ type: "message", usage: { input_tokens: 9, output_tokens: 4 } }));
    cleanups.push(openai.close, anthropic.close);
    const first = await startGateway(openai.url);
    await post(first.socketPath, "/chat/completions", chatRequest);
    await first.gateway.close();
    const second = await startGateway(anthropic.url, { upstream: { api: "anthropic" } });
    await post(second.socketPath, "/messages", chatRequest);

    expect(first.calls[0]).toMatchObject({ inputTokens: 11, outputTokens: 3 });
    expect(second.calls[0]).toMatchObject({ inputTokens: 9, outputTokens: 4 });
  });
});

describe("budget", () => {
  it("refuses requests past limits.model_max_requests with 429, unforwarded, and says so once", async () => {
    const upstream = await startUpstream(json({}));
    cleanups.push(upstream.close);
    const { socketPath, gateway, calls, spent } = await startGateway(upstream.url, { budget: { maxRequests: 2, maxTokens: 1000 } });

    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await post(socketPath, "/chat/completions", chatRequest)).status);
    const refusal = await post(socketPath, "/chat/completions", chatRequest);

    const note = "model budget spent: 2 of limits.model_max_requests 2";
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect(JSON.parse(refusal.body)).toEqual({ error: { type: "gateway_refused", message: note } });
    expect(upstream.seen).toHaveLength(2);
    expect(spent).toEqual([note]);
    expect(gateway.usage()).toEqual({ requests: 2, inputTokens: 0, outputTokens: 0, refusedRequests: 3 });
    expect(calls[2]).toEqual(expect.objectContaining({ number: 3, httpStatus: 429, refused: note }));
  });

  it("says the budget is spent once a response brings the tokens past limits.model_max_tokens, and refuses what follows", async () => {
    const upstream = await startUpstream(json({ usage: { prompt_tokens: 8, completion_tokens: 5 } }));
    cleanups.push(upstream.close);
    const { socketPath, spent } = await startGateway(upstream.url, { budget: { maxRequests: 10, maxTokens: 20 } });

    const first = await post(socketPath, "/chat/completions", chatRequest);
    expect(spent).toEqual([]);
    const second = await post(socketPath, "/chat/completions", chatRequest);
    const third = await post(socketPath, "/chat/completions", chatRequest);

    expect([first.status, second.status, third.status]).toEqual([200, 200, 429]);
    expect(spent).toEqual(["model budget spent: 26 tokens of limits.model_max_tokens 20"]);
    expect(upstream.seen).toHaveLength(2);
  });
});

describe("model calls and failures", () => {
  it("reports the time to the first byte and to the last", async () => {
    const upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: {}\n\n");
      setTimeout(() => response.end("data: [DONE]\n\n"), 300);
    });
    cleanups.push(upstream.close);
    const { socketPath, calls } = await startGateway(upstream.url);

    await post(socketPath, "/chat/completions", chatRequest);

    expect(calls[0]!.latencyMs).toBeGreaterThanOrEqual(290);
    expect(calls[0]!.firstByteMs).toBeLessThan(250);
  });

  it("answers 502 with a JSON error when the provider cannot be reached", async () => {
    const { socketPath, calls } = await startGateway("http://127.0.0.1:1/v1");

    const reply = await post(socketPath, "/chat/completions", chatRequest);

    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.body)).toEqual({ error: { type: "gateway_upstream_error", message: expect.stringContaining("ECONNREFUSED") } });
    expect(calls).toEqual([expect.objectContaining({ number: 1, httpStatus: 502, refused: "" })]);
  });

  it("cuts the sandbox's response off when the provider's is cut off, and reports 502", async () => {
    const upstream = await startUpstream((_request, response, raw) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: {}\n\n", () => setTimeout(() => raw.socket.destroy(), 50));
    });
    cleanups.push(upstream.close);
    const { socketPath, calls } = await startGateway(upstream.url);

    await expect(post(socketPath, "/chat/completions", chatRequest)).rejects.toThrow();

    await waitFor(() => calls.length === 1);
    expect(calls[0]).toMatchObject({ httpStatus: 502 });
  });
});

describe("lifecycle", () => {
  it("makes its socket 0666, and close() ends requests in flight on both sides, removes the socket, and can be called again", async () => {
    let upstreamClosed = false;
    const upstream = await startUpstream((_request, response, raw) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: {}\n\n");
      raw.socket.once("close", () => (upstreamClosed = true));
    });
    cleanups.push(upstream.close);
    const { socketPath, gateway, calls } = await startGateway(upstream.url);
    expect((await stat(socketPath)).mode & 0o777).toBe(0o666);
    const pending = post(socketPath, "/chat/completions", chatRequest);
    // A request whose body has not ended yet is in flight too.
    const halfSent = http.request({ socketPath, path: "/chat/completions", method: "POST", headers: { "content-length": "100" } });
    const halfSentFailed = new Promise((resolve) => halfSent.once("error", resolve));
    halfSent.write("{");
    await waitFor(() => upstream.seen.length === 1);

    const started = Date.now();
    await gateway.close();
    await gateway.close();

    expect(Date.now() - started).toBeLessThan(1000);
    await expect(pending).rejects.toThrow();
    await halfSentFailed;
    await expect(stat(socketPath)).rejects.toMatchObject({ code: "ENOENT" });
    await waitFor(() => upstreamClosed);
    expect(calls).toHaveLength(1);
  }, 5000);

  it("serves many concurrent requests over kept-alive connections", async () => {
    const upstream = await startUpstream((request, response) => {
      setTimeout(
        () => json({ echo: JSON.parse(request.body).n, usage: { prompt_tokens: 1, completion_tokens: 2 } })(request, response),
        20,
      );
    });
    cleanups.push(upstream.close);
    const { socketPath, gateway, calls } = await startGateway(upstream.url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    cleanups.push(async () => agent.destroy());

    const replies = await Promise.all(Array.from({ length: 40 }, (_, n) => post(socketPath, "/chat/completions", { n }, { agent })));

    expect(replies.map((reply) => JSON.parse(reply.body).echo)).toEqual(Array.from({ length: 40 }, (_, n) => n));
    expect(gateway.usage()).toEqual({ requests: 40, inputTokens: 40, outputTokens: 80, refusedRequests: 0 });
    expect(new Set(calls.map((call) => call.number)).size).toBe(40);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
