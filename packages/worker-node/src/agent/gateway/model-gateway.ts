import { chmod } from "node:fs/promises";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { ModelCall, ModelUsage } from "@opencode-worker/shared";
import type { Logger } from "../../logging/logger.js";
import { credentialHeader, errorBody, SERVED_PATHS, type ModelApi } from "./model-api.js";
import { ModelLedger, type ModelBudget } from "./model-ledger.js";
import { downstreamHeaders, upstreamHeaders } from "./proxy-headers.js";
import { forwardedBody, MAX_REQUEST_BODY_BYTES, readBody } from "./request-body.js";
import type { TokenCount } from "./usage-fields.js";
import { usageMeter } from "./usage-meter.js";

export type { ModelBudget };

/** The one provider a delegated task's model is reached at. */
export interface GatewayUpstream {
  /** Its id in agent.providers_file, e.g. "openai". */
  providerId: string;
  api: ModelApi;
  /** e.g. "https://api.openai.com/v1"; http: too (a local model). */
  baseUrl: string;
  /** Sent as the API's credential header; "" sends none (a local model). */
  apiKey: string;
}

export interface ModelGatewayOptions {
  /** Created by the gateway, mode 0666 (the sandbox's uid connects); its directory exists. */
  socketPath: string;
  upstream: GatewayUpstream;
  /** "provider/model" of the task, reported in every ModelCall. */
  model: string;
  budget: ModelBudget;
  /** Once per request: after its response ended, or when it was refused. Never after close() resolved. */
  onCall(call: ModelCall): void;
  /** At most once: the job is then stopped with TERMINATION_REASON_MODEL_BUDGET. */
  onBudgetSpent(note: string): void;
  log: Logger;
}

export interface ModelGateway {
  usage(): ModelUsage;
  /** Stops accepting, destroys requests in flight (both sides), removes the socket. Idempotent. */
  close(): Promise<void>;
}

// Connections come from one sandbox's agent and all end at close(): an idle one may wait long, which spares
// the agent the race of reusing a connection the gateway is closing.
const KEEP_ALIVE_TIMEOUT_MS = 5 * 60 * 1000;

/**
 * The worker's side of a delegated task's model access: an HTTP server on a unix socket in the session
 * dir, which the relay inside the sandbox connects the agent to. It forwards the completion routes of the
 * task's provider only, with the provider's key (which never enters the sandbox), streams responses
 * through as they arrive, counts requests and tokens, and refuses requests once the budget is spent.
 */
export async function startModelGateway(options: ModelGatewayOptions): Promise<ModelGateway> {
  const { upstream, log } = options;
  const base = new URL(upstream.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, "");
  const transport = base.protocol === "https:" ? https : http;
  const agent = new transport.Agent({ keepAlive: true });
  const credential = upstream.apiKey === "" ? undefined : credentialHeader(upstream.api, upstream.apiKey);
  const ledger = new ModelLedger(options.budget, options.onBudgetSpent);
  const inFlight = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;
  let closed = false;

  const report = (call: Omit<ModelCall, "model">): void => {
    if (!closed) options.onCall({ ...call, model: options.model });
  };

  const refuse = (response: ServerResponse, arrivedAt: number, status: number, note: string): void => {
    const number = ledger.number();
    ledger.refused();
    response.writeHead(status, { "content-type": "application/json" }).end(errorBody(upstream.api, "gateway_refused", note));
    const latencyMs = elapsedMs(arrivedAt);
    report({ number, httpStatus: status, inputTokens: 0, outputTokens: 0, latencyMs, firstByteMs: latencyMs, refused: note });
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const arrivedAt = performance.now();
    // Only the path and query of what the sandbox asked are used: it cannot name another host.
    const target = new URL(request.url ?? "/", "http://gateway");
    const served = SERVED_PATHS[upstream.api];
    if (!served.includes(target.pathname) || request.method !== "POST") {
      const status = served.includes(target.pathname) ? 405 : 404;
      return refuse(response, arrivedAt, status, `the model gateway serves POST ${served.join(", ")} only`);
    }
    const body = await readBody(request);
    if (body === undefined) {
      response.shouldKeepAlive = false; // the rest of the body stays unread
      return refuse(response, arrivedAt, 413, `the request body is over ${MAX_REQUEST_BODY_BYTES} bytes`);
    }
    const spent = ledger.admit();
    if (spent !== undefined) return refuse(response, arrivedAt, 429, spent);
    await forward({ request, response, number: ledger.number(), arrivedAt, path: target.pathname, search: target.search, body });
  };

  const forward = ({ request, response, number, arrivedAt, path, search, body }: Forwarded): Promise<void> => {
    const outgoing = forwardedBody(upstream.api, path, body);
    const headers = { ...upstreamHeaders(request.headers, credential), "content-length": outgoing.length };
    let firstByteMs = 0;
    let httpStatus = 0;
    let complete = false; // the provider's response, to its end
    let ended = false; // the response to the sandbox, whichever way
    let tokens: TokenCount = { input: 0, output: 0 };
    const upstreamRequest = transport.request(
      { protocol: base.protocol, hostname: base.hostname, port: base.port, path: basePath + path + search, method: "POST", headers, agent },
      (upstreamResponse) => {
        firstByteMs = elapsedMs(arrivedAt);
        httpStatus = upstreamResponse.statusCode ?? 502;
        const meter = usageMeter(upstreamResponse.headers);
        response.writeHead(httpStatus, downstreamHeaders(upstreamResponse.headers));
        response.flushHeaders();
        upstreamResponse.on("data", (chunk: Buffer) => meter.push(chunk));
        upstreamResponse.once("end", () => {
          complete = true;
          meter.end();
        });
        // A response cut off upstream is cut off here too: the sandbox must not take it for a whole one.
        upstreamResponse.once("close", () => failed("the provider's response was cut off", undefined));
        tokens = meter.tokens;
        upstreamResponse.pipe(response);
      },
    );
    const failed = (what: string, error: Error | undefined): void => {
      if (complete || ended) return;
      ended = true;
      httpStatus = 502;
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      const message = `${what} (${base.origin}${code ? `: ${code}` : ""})`;
      log.warn({ provider: upstream.providerId, call: number, code }, "model gateway: %s", message);
      if (response.headersSent) response.destroy();
      else response.writeHead(502, { "content-type": "application/json" }).end(errorBody(upstream.api, "gateway_upstream_error", message));
    };
    upstreamRequest.setNoDelay(true);
    upstreamRequest.once("error", (error) => failed("the model provider could not be reached", error));
    upstreamRequest.end(outgoing);
    return new Promise((resolve) => {
      response.once("close", () => {
        ended = true;
        // The sandbox hung up first (or close() destroyed it): stop the provider's work too.
        if (!complete) upstreamRequest.destroy();
        ledger.settle(tokens);
        const latencyMs = elapsedMs(arrivedAt);
        report({
          number,
          httpStatus,
          inputTokens: tokens.input,
          outputTokens: tokens.output,
          latencyMs,
          firstByteMs: firstByteMs || latencyMs,
          refused: "",
        });
        resolve();
      });
    });
  };

  const server = http.createServer({ noDelay: true, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (request, response) => {
    const done = handle(request, response)
      .catch((error: unknown) => {
        // The sandbox dropped the request before its body ended: nothing to answer.
        log.debug({ provider: upstream.providerId, err: error }, "model gateway: request abandoned");
        response.destroy();
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });
  await chmod(options.socketPath, 0o666);
  log.info(
    { provider: upstream.providerId, api: upstream.api, origin: base.origin, socket: options.socketPath },
    "model gateway listening",
  );

  return {
    usage: () => ledger.usage(),
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        agent.destroy();
        await Promise.all(inFlight);
        await stopped;
        closed = true; // node removed the socket file when its server closed
      })()),
  };
}

/** A request the gateway forwards: served, within its budget, its body read. */
interface Forwarded {
  request: IncomingMessage;
  response: ServerResponse;
  number: number;
  arrivedAt: number;
  path: string;
  search: string;
  body: Buffer;
}

function elapsedMs(since: number): number {
  return Math.round(performance.now() - since);
}
