import { afterEach, describe, expect, it } from "@jest/globals";
import { once } from "node:events";
import { constants, type ClientHttp2Session } from "node:http2";
import { setTimeout as delay } from "node:timers/promises";
import { StreamJobRequest, StreamJobResponse } from "@opencode-worker/shared";
import type { WorkerConfigOverrides } from "@opencode-worker/worker-node";
import { startTestWorker, type TestWorker } from "./harness.js";
import { grpcFrame, openSession, rawGrpcCall } from "./support/raw-http2.js";

/*
 * The grpc.* connection limits, seen from a client's HTTP/2 connection (node:http2: a gRPC client
 * would hide GOAWAY, PING and SETTINGS). Each test sets only the limit it shows, low.
 */
let t: TestWorker | undefined;
const sessions: ClientHttp2Session[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.destroy();
  await t?.stop();
  t = undefined;
});

async function start(grpc: NonNullable<WorkerConfigOverrides["grpc"]>): Promise<TestWorker> {
  t = await startTestWorker({ grpc });
  return t;
}

async function session(address: string): Promise<ClientHttp2Session> {
  const opened = await openSession(address);
  sessions.push(opened);
  return opened;
}

/** StreamJob that dispatches `command` and streams it to its end. */
function streamJob(on: ClientHttp2Session, command: string) {
  const request = StreamJobRequest.fromPartial({ target: { $case: "spec", value: { command } } });
  return rawGrpcCall(on, "StreamJob", grpcFrame(StreamJobRequest.encode(request).finish()));
}

/** Resolves when `on` has closed, cleanly or with an error (events.once would reject on the error). */
function closed(on: ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => (on.destroyed ? resolve() : on.once("close", () => resolve())));
}

/** The GOAWAY `on` receives within `withinMs`, or undefined. */
async function goawayWithin(on: ClientHttp2Session, withinMs: number): Promise<{ code: number; debug: string } | undefined> {
  const received = once(on, "goaway").then(([code, , opaque]: unknown[]) => ({ code: code as number, debug: String(opaque ?? "") }));
  return Promise.race([received, delay(withinMs).then(() => undefined)]);
}

describe("grpc.max_connection_age_ms", () => {
  it("sends GOAWAY after the age, and a StreamJob running then finishes within grpc.max_connection_age_grace_ms", async () => {
    const worker = await start({ max_connection_age_ms: 500, max_connection_age_grace_ms: 20_000 });
    const connection = await session(worker.worker.address);
    const call = streamJob(connection, "sleep 2; echo done");
    // The age has a +-10% jitter; the job still has over a second to run.
    expect(await goawayWithin(connection, 1000)).toEqual({ code: constants.NGHTTP2_NO_ERROR, debug: "max_age" });
    const outcome = await call.outcome;
    expect(outcome.status).toBe(0);
    const last = StreamJobResponse.decode(outcome.messages.at(-1)!).event?.kind;
    expect(last?.$case === "completed" && Buffer.from(last.value.stdout).toString()).toBe("done\n");
    // Its last stream done, the connection closes.
    await closed(connection);
  });
});

describe("grpc.max_connection_idle_ms", () => {
  it("closes a connection that carries no call for that long, and only then", async () => {
    const worker = await start({ max_connection_idle_ms: 400 });
    const busy = await session(worker.worker.address);
    const idle = await session(worker.worker.address);
    const call = streamJob(busy, "sleep 1.5");
    expect(await goawayWithin(idle, 1200)).toMatchObject({ code: constants.NGHTTP2_NO_ERROR });
    await closed(idle);
    expect(busy.closed).toBe(false);
    expect((await call.outcome).status).toBe(0);
  });
});

describe("grpc.min_ping_interval_ms", () => {
  const ping = (on: ClientHttp2Session): Promise<void> =>
    new Promise((resolve, reject) => {
      if (!on.ping((error) => (error ? reject(error) : resolve()))) reject(new Error("ping not sent"));
    });

  it("answers a ping flood with GOAWAY ENHANCE_YOUR_CALM and closes the connection", async () => {
    const worker = await start({ min_ping_interval_ms: 1000 });
    const connection = await session(worker.worker.address);
    const goaway = goawayWithin(connection, 2000);
    for (let i = 0; i < 10 && !connection.closed; i++) await ping(connection).catch(() => undefined);
    expect(await goaway).toEqual({ code: constants.NGHTTP2_ENHANCE_YOUR_CALM, debug: "too_many_pings" });
    await closed(connection);
  });

  it("lets pings spaced by the interval through", async () => {
    const worker = await start({ min_ping_interval_ms: 100 });
    const connection = await session(worker.worker.address);
    for (let i = 0; i < 5; i++) {
      await ping(connection);
      await delay(150);
    }
    expect(connection.closed).toBe(false);
  });
});

describe("grpc.max_concurrent_streams", () => {
  it("is announced in SETTINGS, and a stream beyond it waits until one ends", async () => {
    const worker = await start({ max_concurrent_streams: 2 });
    const connection = await session(worker.worker.address);
    expect(connection.remoteSettings.maxConcurrentStreams).toBe(2);
    const first = streamJob(connection, "sleep 30");
    const second = streamJob(connection, "sleep 30");
    const third = streamJob(connection, "echo third");
    await delay(1000);
    expect([first.answered, second.answered, third.answered]).toEqual([true, true, false]);
    first.close();
    const outcome = await third.outcome;
    expect(outcome.status).toBe(0);
    second.close();
  });
});

describe("grpc.max_connections", () => {
  it("closes a connection beyond the cap as it is accepted; one frees a place by closing", async () => {
    // The harness's SDK client holds the first of the three.
    const worker = await start({ max_connections: 3 });
    const [first] = [await session(worker.worker.address), await session(worker.worker.address)];
    const refused = openSession(worker.worker.address);
    await expect(refused).rejects.toThrow();
    first!.close();
    await closed(first!);
    await eventuallyOpens(worker.worker.address);
  });
});

/** The server notices a closed socket a moment after the client: retried briefly. */
async function eventuallyOpens(address: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await session(address);
      return;
    } catch (error) {
      if (attempt >= 20) throw error;
      await delay(50);
    }
  }
}
