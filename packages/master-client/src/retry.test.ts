import { describe, expect, it } from "@jest/globals";
import { status } from "@grpc/grpc-js";
import { AbortError, errorFromStatus, InvalidArgumentError } from "./errors.js";
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isRetryable,
  resolveRetryPolicy,
  retryDelayMs,
  type RetryPolicy,
  type Rpc,
  withRetry,
  withStreamRetry,
} from "./retry.js";

const failure = (code: status) => errorFromStatus({ code, details: "x" }, { rpc: "status" });
const fast: RetryPolicy = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 1, maxDelayMs: 2 };
const RPCS: Rpc[] = ["dispatch", "status", "collect", "cancel", "streamJob", "listSessions", "getMetrics", "readArtifact"];
const ALL_CODES = Object.values(status).filter((value): value is status => typeof value === "number");

describe("isRetryable", () => {
  it.each(RPCS)("retries %p after UNAVAILABLE: every RPC is idempotent (dispatch by its job_id)", (rpc) => {
    expect(isRetryable(rpc, failure(status.UNAVAILABLE), DEFAULT_RETRY_POLICY)).toBe(true);
  });

  it.each(ALL_CODES.filter((code) => code !== status.UNAVAILABLE))("does not retry status %p by default", (code) => {
    expect(isRetryable("status", failure(code), DEFAULT_RETRY_POLICY)).toBe(false);
  });

  it("retries RESOURCE_EXHAUSTED only when opted in", () => {
    const optedIn = { ...DEFAULT_RETRY_POLICY, retryResourceExhausted: true };
    expect(isRetryable("dispatch", failure(status.RESOURCE_EXHAUSTED), optedIn)).toBe(true);
    expect(isRetryable("dispatch", failure(status.INVALID_ARGUMENT), optedIn)).toBe(false);
  });

  it("does not retry what is not a status from the wire", () => {
    expect(isRetryable("status", new Error("boom"), DEFAULT_RETRY_POLICY)).toBe(false);
    expect(isRetryable("status", new InvalidArgumentError("local"), DEFAULT_RETRY_POLICY)).toBe(false);
  });
});

describe("backoffDelayMs", () => {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 100, maxDelayMs: 1000 };

  it("doubles per failure, jittered within [half, full] of the ceiling", () => {
    for (const [failures, ceiling] of [
      [1, 100],
      [2, 200],
      [3, 400],
      [4, 800],
    ] as const) {
      expect(backoffDelayMs(failures, policy, () => 0)).toBe(ceiling / 2);
      expect(backoffDelayMs(failures, policy, () => 0.999_999)).toBe(ceiling);
    }
  });

  it("never exceeds maxDelayMs", () => {
    expect(backoffDelayMs(30, policy, () => 0.999_999)).toBe(1000);
  });

  it("spreads clients out", () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelayMs(3, policy)));
    expect(delays.size).toBeGreaterThan(5);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThanOrEqual(400);
    }
  });
});

describe("retryDelayMs", () => {
  const unavailable = failure(status.UNAVAILABLE);

  it("allows maxAttempts attempts in all", () => {
    // After the second failure: the 100 ms initial delay doubled once, jittered within [half, full].
    const pause = retryDelayMs("status", unavailable, 2, DEFAULT_RETRY_POLICY, {});
    expect(pause).toBeGreaterThanOrEqual(100);
    expect(pause).toBeLessThanOrEqual(200);
    expect(retryDelayMs("status", unavailable, 3, DEFAULT_RETRY_POLICY, {})).toBeUndefined();
  });

  it("never retries after the caller aborted", () => {
    const controller = new AbortController();
    controller.abort();
    expect(retryDelayMs("status", unavailable, 1, DEFAULT_RETRY_POLICY, { signal: controller.signal })).toBeUndefined();
  });

  it("never retries when the pause would end past the caller's deadline", () => {
    const now = 1_000_000;
    expect(retryDelayMs("status", unavailable, 1, DEFAULT_RETRY_POLICY, { deadline: now + 40 }, now)).toBeUndefined();
    const pause = retryDelayMs("status", unavailable, 1, DEFAULT_RETRY_POLICY, { deadline: now + 5000 }, now);
    expect(pause).toBeGreaterThanOrEqual(50);
    expect(pause).toBeLessThanOrEqual(100);
  });
});

describe("withRetry", () => {
  it("tries again after UNAVAILABLE and returns the first success", async () => {
    let attempts = 0;
    const value = await withRetry("status", fast, {}, async () => {
      attempts += 1;
      if (attempts < 3) throw failure(status.UNAVAILABLE);
      return "ok";
    });
    expect([value, attempts]).toEqual(["ok", 3]);
  });

  it("surfaces the last error once the attempts are used up", async () => {
    let attempts = 0;
    const error = await withRetry("status", fast, {}, async () => {
      attempts += 1;
      throw failure(status.UNAVAILABLE);
    }).catch((caught: unknown) => caught);
    expect([(error as { code?: string }).code, attempts]).toEqual(["UNAVAILABLE", 3]);
  });

  it("does not retry a non-retryable status", async () => {
    let attempts = 0;
    await expect(
      withRetry("dispatch", fast, {}, async () => {
        attempts += 1;
        throw failure(status.ALREADY_EXISTS);
      }),
    ).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
    expect(attempts).toBe(1);
  });

  it("stops its backoff with an AbortError when the caller aborts", async () => {
    const controller = new AbortController();
    const slow: RetryPolicy = { ...DEFAULT_RETRY_POLICY, initialDelayMs: 60_000, maxDelayMs: 60_000 };
    const pending = withRetry("status", slow, { signal: controller.signal }, async () => {
      throw failure(status.UNAVAILABLE);
    });
    setTimeout(() => controller.abort("stop"), 10);
    const error = await pending.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toBe("stop");
  });
});

describe("withStreamRetry", () => {
  it("reopens after UNAVAILABLE and resets the count whenever items arrive", async () => {
    // Each attempt delivers one item then breaks: more breaks than maxAttempts, yet progress keeps it alive.
    let opened = 0;
    const items: number[] = [];
    for await (const item of withStreamRetry("streamJob", fast, undefined, async function* () {
      opened += 1;
      yield opened;
      if (opened < 5) throw failure(status.UNAVAILABLE);
    })) {
      items.push(item);
    }
    expect(items).toEqual([1, 2, 3, 4, 5]);
  });

  it("gives up after maxAttempts opens without progress", async () => {
    let opened = 0;
    const stream = withStreamRetry("streamJob", fast, undefined, async function* (): AsyncGenerator<never> {
      opened += 1;
      throw failure(status.UNAVAILABLE);
    });
    await expect(stream.next()).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(opened).toBe(3);
  });
});

describe("resolveRetryPolicy", () => {
  it("fills defaults", () => {
    expect(resolveRetryPolicy(undefined)).toEqual(DEFAULT_RETRY_POLICY);
    expect(resolveRetryPolicy({ maxAttempts: 5 })).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 5 });
  });

  it.each([
    [{ maxAttempts: 0 }, "retry.maxAttempts"],
    [{ initialDelayMs: -1 }, "retry.initialDelayMs"],
    [{ retryResourceExhausted: "yes" }, "retry.retryResourceExhausted"],
    [{ attempts: 3 }, "retry.attempts"],
  ])("rejects %p naming %p", (options, field) => {
    expect(() => resolveRetryPolicy(options as never)).toThrow(expect.objectContaining({ field }));
  });
});
