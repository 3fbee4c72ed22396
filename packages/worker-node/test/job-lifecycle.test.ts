import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { AlreadyExistsError, JobFailedError, JobNotFinishedError, type JobEvent } from "@opencode-worker/master-client";
import { eventually, startTestWorker, type TestWorker } from "./harness.js";

let t: TestWorker;
beforeAll(async () => {
  t = await startTestWorker();
});
afterAll(() => t.stop());

describe("a job end to end", () => {
  it("runs a shell line in work/ and returns its result with timings", async () => {
    const result = await t.client.run({ command: 'echo "hello $NAME"; echo oops >&2; pwd', env: { NAME: "agent" } });
    expect(result.state).toBe("finished");
    expect(result.reason).toBe("exited");
    expect(result.exitCode).toBe(0);
    const [hello, pwd] = result.stdoutText.trim().split("\n");
    expect(hello).toBe("hello agent");
    expect(pwd).toMatch(/\/session-[0-9a-f-]+\/work$/);
    expect(result.stderrText).toBe("oops\n");
    expect(result.stdoutTruncated).toBe(false);
    expect(result.stdoutTotalBytes).toBe(Buffer.byteLength(result.stdoutText));
    expect(result.workerId).toBe(t.worker.config.worker.id);
    expect(result.durationMs).toBeGreaterThan(0);
    expect(result.phaseMs.executeMs).toBeGreaterThan(0);
    expect(result.isolation).not.toBe("");
  });

  it("runs argv without a shell, so metacharacters are plain arguments", async () => {
    const result = await t.client.run({ argv: ["echo", "a;b", "$HOME", "|"] });
    expect(result.stdoutText).toBe("a;b $HOME |\n");
  });

  it("writes input files (with modes), feeds stdin, honours cwd, and sets the session env", async () => {
    const result = await t.client.run({
      command:
        'cat data.txt; ./tool.sh; cat -; test "$OPENCODE_WORK_DIR" = "$(cd .. && pwd)" && echo cwd-ok; cat "$OPENCODE_WORK_DIR/../opencode.json"',
      cwd: "sub",
      files: { "sub/data.txt": "from a file\n", "sub/tool.sh": { content: "#!/bin/sh\necho tool ran\n", mode: 0o755 } },
      stdin: "from stdin\n",
      config: { provider: "anthropic", model: "claude" },
    });
    const lines = result.stdoutText.split("\n");
    expect(lines.slice(0, 4)).toEqual(["from a file", "tool ran", "from stdin", "cwd-ok"]);
    expect(JSON.parse(lines.slice(4).join("\n"))).toMatchObject({ provider: "anthropic", model: "claude", network: "restricted" });
  });

  it("collects artifacts from output/, inline when small, and serves them through ReadArtifact", async () => {
    const result = await t.client.run({
      command:
        'echo small > "$OPENCODE_OUTPUT_DIR/a.txt"; mkdir "$OPENCODE_OUTPUT_DIR/d"; head -c 200000 /dev/zero | tr "\\0" x > "$OPENCODE_OUTPUT_DIR/d/big.bin"',
    });
    const byPath = new Map(result.artifacts.map((artifact) => [artifact.path, artifact]));
    expect([...byPath.keys()].sort()).toEqual(["a.txt", "d/big.bin"]);
    expect(byPath.get("a.txt")?.content?.toString()).toBe("small\n");
    expect(byPath.get("d/big.bin")?.content).toBeUndefined();
    expect(byPath.get("d/big.bin")?.sizeBytes).toBe(200_000);
    const job = await t.client.job(result.jobId);
    const big = await job.readArtifactBuffer("d/big.bin");
    expect(big.length).toBe(200_000);
    expect(big.every((byte) => byte === 0x78)).toBe(true);
    const middle = await readAll(job.readArtifact("d/big.bin", { offset: 1000, length: 10 }));
    expect(middle.toString()).toBe("x".repeat(10));
  });

  it("selects artifacts with glob patterns", async () => {
    const result = await t.client.run({
      command: 'cd "$OPENCODE_OUTPUT_DIR" && mkdir -p r && echo 1 > r/a.json && echo 2 > r/b.txt && echo 3 > top.json',
      artifacts: ["**/*.json"],
    });
    expect(result.artifacts.map((artifact) => artifact.path).sort()).toEqual(["r/a.json", "top.json"]);
  });

  it("destroys the session directory before the result is published", async () => {
    await t.client.run({ command: "echo x > file-in-work" });
    expect(await t.sessionDirs()).toEqual([]);
  });

  it("reports a non-zero exit as FAILED with the same shape as a result", async () => {
    const error = await t.client.run({ command: "echo partial; exit 3" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobFailedError);
    const failed = error as JobFailedError;
    expect(failed.state).toBe("failed");
    expect(failed.reason).toBe("exited");
    expect(failed.exitCode).toBe(3);
    expect(failed.stdoutText).toBe("partial\n");
  });
});

describe("following a job", () => {
  it("streams events in order: accepted, phases, live output, completed, with seq from 1", async () => {
    const job = await t.client.dispatch({ command: "echo one; sleep 0.2; echo two >&2" });
    const events: JobEvent[] = [];
    for await (const event of job.events()) events.push(event);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    expect(events[0]?.type).toBe("accepted");
    const phases = events.filter((event) => event.type === "phase").map((event) => event.phase);
    expect(phases).toEqual(["init", "prepare", "execute", "collect", "destroy"]);
    const output = events.flatMap((event) => (event.type === "output" ? [`${event.stream}:${event.data.toString()}`] : []));
    expect(output).toEqual(["stdout:one\n", "stderr:two\n"]);
    expect(events.at(-1)?.type).toBe("completed");
  });

  it("replays a finished job to a late subscriber, and resumes after a given seq", async () => {
    const result = await t.client.run({ command: "echo a; echo b" });
    const job = await t.client.job(result.jobId);
    const all: JobEvent[] = [];
    for await (const event of job.events()) all.push(event);
    expect(all.at(-1)?.type).toBe("completed");
    const tail: JobEvent[] = [];
    for await (const event of job.events({ afterSeq: 3 })) tail.push(event);
    expect(tail.map((event) => event.seq)).toEqual(all.filter((event) => event.seq > 3).map((event) => event.seq));
  });

  it("delivers output through onStdout callbacks as it arrives", async () => {
    const job = await t.client.dispatch({ command: "for i in 1 2 3; do echo line$i; sleep 0.05; done" });
    const chunks: string[] = [];
    job.onStdout((chunk) => chunks.push(chunk.toString()));
    await job.wait();
    await eventually(() => chunks.join("") === "line1\nline2\nline3\n");
  });

  it("shows a running job in Status and ListSessions, then not in ListSessions once it ended", async () => {
    const job = await t.client.dispatch({ command: "sleep 30" });
    await eventually(async () => (await job.status()).state === "running");
    const status = await job.status();
    expect(status.phase).toBe("execute");
    const sessions = await t.client.listSessions();
    expect(sessions.find((session) => session.jobId === job.jobId)).toMatchObject({ sessionId: job.sessionId, state: "running" });
    await expect(job.collect()).rejects.toBeInstanceOf(JobNotFinishedError);
    await job.cancel("test over");
    expect((await t.client.listSessions()).find((session) => session.jobId === job.jobId)).toBeUndefined();
  });
});

describe("cancel", () => {
  it("stops a running job and its whole tree before returning; repeating it is harmless", async () => {
    const job = await t.client.dispatch({ command: "sleep 60 & sleep 60 & echo started; wait" });
    let output = "";
    job.onStdout((chunk) => (output += chunk.toString()));
    await eventually(() => output === "started\n");
    const outcome = await job.cancel("user pressed stop");
    expect(outcome).toMatchObject({ state: "cancelled", cancelled: true });
    const result = await job.collect();
    expect(result.reason).toBe("cancelled");
    expect(result.message).toContain("user pressed stop");
    // sh and its two sleeps.
    expect(result.processesReaped).toBeGreaterThanOrEqual(3);
    expect(await job.cancel("again")).toMatchObject({ state: "cancelled", cancelled: true });
  });

  it("does not touch a job that already finished", async () => {
    const result = await t.client.run({ command: "true" });
    const job = await t.client.job(result.jobId);
    expect(await job.cancel()).toMatchObject({ state: "finished", cancelled: false });
  });
});

describe("Dispatch is idempotent by job_id", () => {
  it("returns the existing job for the same spec and refuses a different one", async () => {
    const spec = { jobId: "idem-1", command: "sleep 0.3; echo once", env: { A: "1", B: "2" } };
    const first = await t.client.dispatch(spec);
    const again = await t.client.dispatch({ ...spec, env: { B: "2", A: "1" } });
    expect(again.sessionId).toBe(first.sessionId);
    const result = await again.wait();
    expect(result.stdoutText).toBe("once\n");
    await expect(t.client.dispatch({ ...spec, command: "echo other" })).rejects.toBeInstanceOf(AlreadyExistsError);
  });
});

describe("metrics", () => {
  it("counts jobs by outcome, reports latency, RSS and the isolation mode", async () => {
    const metrics = await t.client.metrics();
    expect(metrics.workerId).toBe(t.worker.config.worker.id);
    expect(metrics.jobsTotal).toBeGreaterThan(0);
    expect(metrics.outcomes.find((outcome) => outcome.state === "finished")?.count).toBeGreaterThan(0);
    expect(metrics.jobLatency.count).toBeGreaterThan(0);
    expect(metrics.jobLatency.p50Ms).toBeGreaterThan(0);
    expect(metrics.rssBytes).toBeGreaterThan(0);
    expect(metrics.isolationMode).toBe(t.worker.isolation.mode);
    expect(metrics.concurrency).toBe(t.worker.config.worker.concurrency);
  });
});

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
