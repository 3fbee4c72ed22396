import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { credentials } from "@grpc/grpc-js";
import { WorkerServiceClient, type JobEvent as WireJobEvent } from "@opencode-worker/shared";
import { eventually, startTestWorker, type TestWorker } from "./harness.js";

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker({ grpc: { stream_keepalive_ms: 300 } });
});
afterAll(() => t.stop());

describe("output is live and never lost", () => {
  it("delivers every byte, in order, with contiguous offsets, to a slow consumer (backpressure)", async () => {
    const size = 8 * 1024 * 1024;
    // The worker shares this jest process: what other suites left in its heap is not the worker's, so
    // only the growth during this job counts.
    const rssBefore = (await t.client.metrics()).rssBytes;
    const job = await t.client.dispatch({
      command: `head -c ${size} /dev/urandom | od -An -v -tx1 | head -c ${size}`,
      limits: { maxOutput: "64MiB" },
    });
    let expectedOffset = 0;
    let received = 0;
    for await (const event of job.events()) {
      if (event.type !== "output") continue;
      expect(event.offset).toBe(expectedOffset);
      expectedOffset += event.data.length;
      received += event.data.length;
      // A consumer slower than the job: the worker must hold the job back, not drop or hoard output.
      if (received < 1024 * 1024) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(received).toBe(size);
    const result = await job.wait();
    expect(result.stdoutTotalBytes).toBe(size);
    const rssGrowth = (await t.client.metrics()).rssBytes - rssBefore;
    expect(rssGrowth).toBeLessThan(256 * 1024 * 1024);
  });

  it("streams a 10 MB line without a newline and binary bytes unchanged; the result keeps the head", async () => {
    const job = await t.client.dispatch({
      command: "head -c 10000000 /dev/zero | tr '\\0' a; printf '\\377\\000\\001'",
      limits: { maxOutput: "32MiB" },
    });
    let total = 0;
    let tail = Buffer.alloc(0);
    for await (const event of job.events()) {
      if (event.type !== "output") continue;
      total += event.data.length;
      tail = Buffer.concat([tail, event.data]).subarray(-3);
    }
    expect(total).toBe(10_000_003);
    expect([...tail]).toEqual([0xff, 0x00, 0x01]);
    const result = await job.wait();
    expect(result.stdoutTotalBytes).toBe(10_000_003);
    expect(result.stdout.length).toBe(t.worker.config.session.resultOutputBytes);
    expect(result.stdoutTruncated).toBe(true);
  });

  it("keeps the job running when the client disconnects mid-stream, and lets it re-attach where it left off", async () => {
    const job = await t.client.dispatch({ command: "for i in 1 2 3 4 5; do echo $i; sleep 0.1; done" });
    let lastSeq = 0;
    let first = "";
    for await (const event of job.events()) {
      lastSeq = event.seq;
      if (event.type !== "output") continue;
      first = event.data.toString(); // on a loaded machine "1\n2\n" may arrive as one chunk
      break; // leaving the loop cancels the call
    }
    const rest: string[] = [];
    for await (const event of job.events({ afterSeq: lastSeq })) if (event.type === "output") rest.push(event.data.toString());
    const result = await job.wait();
    expect(result.stdoutText).toBe("1\n2\n3\n4\n5\n");
    expect(first + rest.join("")).toBe(result.stdoutText);
  });

  it("sends keepalive events on a quiet stream, repeating the latest seq", async () => {
    const raw = new WorkerServiceClient(t.worker.address, credentials.createInsecure());
    try {
      const events: WireJobEvent[] = [];
      const call = raw.streamJob({
        target: {
          $case: "spec",
          value: {
            jobId: "",
            command: "sleep 1",
            argv: [],
            files: new Map(),
            fileModes: new Map(),
            env: new Map(),
            cwd: "",
            stdin: Buffer.alloc(0),
            artifacts: [],
          },
        },
        afterSeq: "0",
      });
      call.on("data", (response: { event: WireJobEvent }) => events.push(response.event));
      await new Promise((resolve) => call.on("end", resolve));
      const keepalives = events.filter((event) => event.kind?.$case === "keepalive");
      expect(keepalives.length).toBeGreaterThanOrEqual(1);
      for (const keepalive of keepalives) {
        const previous = events[events.indexOf(keepalive) - 1];
        expect(keepalive.seq).toBe(previous?.seq);
      }
    } finally {
      raw.close();
    }
  });

  it("serves thousands of events to many concurrent streams", async () => {
    const jobs = await Promise.all(Array.from({ length: 20 }, (_, i) => t.client.dispatch({ command: `seq 1 2000; echo done-${i}` })));
    const outputs = await Promise.all(
      jobs.map(async (job) => {
        let text = "";
        for await (const event of job.events()) if (event.type === "output") text += event.data.toString();
        return text;
      }),
    );
    outputs.forEach((text, i) => expect(text.endsWith(`2000\ndone-${i}\n`)).toBe(true));
    await eventually(async () => (await t.client.listSessions()).length === 0);
  });
});
