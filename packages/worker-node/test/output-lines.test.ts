import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { JobFailedError } from "@opencode-worker/master-client";
import { startTestWorker, type TestWorker } from "./harness.js";

/*
 * The result counts the newlines of each stream over every byte the job wrote, so a caller can say how
 * many lines it leaves out of a head and tail without reading the middle. The worker here keeps only
 * the first 4 KiB of each stream: the counts must not stop there.
 */
const RETAINED_BYTES = 4096;
/** What `seq 1 100000` prints. */
const SEQ = Array.from({ length: 100_000 }, (_, i) => `${i + 1}\n`).join("");

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker({ session: { result_output_bytes: RETAINED_BYTES } });
});
afterAll(() => t.stop());

describe("the result's line counts", () => {
  it("count the newlines of each stream; a last line without one is not counted", async () => {
    const result = await t.client.run({ command: "printf 'one\\ntwo\\nthree'; printf 'warn\\n\\nerror\\n' >&2" });
    expect(result.stdoutText).toBe("one\ntwo\nthree");
    expect([result.stdoutLines, result.stderrLines]).toEqual([2, 3]);
  });

  it("count past the bytes the worker keeps, on both streams", async () => {
    // The tail adds bytes but no newline.
    const result = await t.client.run({ command: "seq 1 100000; printf tail; seq 1 50000 >&2" });
    expect(result).toMatchObject({
      stdoutTotalBytes: SEQ.length + 4,
      stdoutRetainedBytes: RETAINED_BYTES,
      stdoutTruncated: true,
      stdoutLines: 100_000,
      stderrTotalBytes: 288_894,
      stderrRetainedBytes: RETAINED_BYTES,
      stderrLines: 50_000,
    });
  });

  it("count the bytes past max_output_bytes too, which the worker read but did not keep", async () => {
    const error = await t.client.run({ command: "seq 1 100000", limits: { maxOutput: "16KiB" } }).catch((e: unknown) => e);
    if (!(error instanceof JobFailedError)) throw new Error(`expected JobFailedError, got ${String(error)}`);
    expect(error.reason).toBe("output_limit");
    expect(error.stdoutTotalBytes).toBeGreaterThan(16 * 1024);
    expect(error.stdoutLines).toBe(SEQ.slice(0, error.stdoutTotalBytes).split("\n").length - 1);
  });
});
