/**
 * The operator's commands (ls, status, logs, cancel, metrics, health) and run's exit codes and stdin,
 * through the built bin against a real worker, as an operator types them.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkerClient } from "@opencode-worker/master-client";
import { startBinWorker, type BinWorker } from "../../worker-node/test/bin-harness.js";
import { outcomeOf, runBin, spawnBin } from "./support/run-bin.js";

let baseDir: string;
let server: BinWorker;
let address: string;
let client: WorkerClient;
beforeAll(async () => {
  baseDir = await mkdtemp(join(tmpdir(), "ocw-cli-"));
  server = await startBinWorker([`--session.base_dir=${baseDir}`]);
  address = server.address;
  client = await WorkerClient.connect({ address });
});
afterAll(async () => {
  client.close();
  await server.stop();
  await rm(baseDir, { recursive: true, force: true });
});

/** A job that has ended, with output on both streams. */
async function finishedJob(command = "echo out1; echo err1 >&2; echo out2"): Promise<string> {
  const job = await client.dispatch({ command });
  await job.wait();
  return job.jobId;
}

/** Resolves once `text` has appeared on the child's stdout. */
function seen(child: ReturnType<typeof spawnBin>, text: string): Promise<void> {
  let stdout = "";
  return new Promise((resolve) =>
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes(text)) resolve();
    }),
  );
}

describe("opencode-worker ls", () => {
  it("lists the running jobs, as a table and as JSON", async () => {
    const job = await client.dispatch({ command: "sleep 30" });
    try {
      const human = await runBin(["ls", "--address", address]);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^JOB\s+STATE\s+PHASE/);
      expect(human.stdout).toContain(job.jobId);
      const json = await runBin(["ls", "--json", "--address", address]);
      expect(json.code).toBe(0);
      const { sessions } = JSON.parse(json.stdout) as { sessions: { jobId: string; sessionId: string }[] };
      expect(sessions).toContainEqual(expect.objectContaining({ jobId: job.jobId, sessionId: job.sessionId }));
    } finally {
      await job.cancel();
    }
  });
});

describe("opencode-worker status", () => {
  it("prints a job's state and timings, as lines and as JSON", async () => {
    const jobId = await finishedJob();
    const human = await runBin(["status", "--address", address, jobId]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`job:`);
    expect(human.stdout).toMatch(/^state:\s+finished$/m);
    expect(human.stdout).toMatch(/^reason:\s+exited$/m);
    const json = await runBin(["status", "--json", "--address", address, jobId]);
    expect(JSON.parse(json.stdout)).toMatchObject({ jobId, state: "finished", ended: true, reason: "exited" });
  });

  it("exits 125 for a job the worker does not know", async () => {
    const { code, stderr } = await runBin(["status", "--address", address, "0190f0f0-0000-7000-8000-000000000000"]);
    expect(code).toBe(125);
    expect(stderr).toContain("0190f0f0-0000-7000-8000-000000000000");
  });
});

describe("opencode-worker logs", () => {
  it("prints an ended job's output, stdout to stdout and stderr to stderr", async () => {
    const jobId = await finishedJob();
    const { code, stdout, stderr } = await runBin(["logs", "--address", address, jobId]);
    expect(code).toBe(0);
    expect(stdout).toBe("out1\nout2\n");
    expect(stderr).toBe("err1\n");
  });

  it("prints one JSON event a line with --json, and resumes after a seq with --after-seq", async () => {
    // Pauses between the writes, so each is an event of its own.
    const jobId = await finishedJob("echo out1; sleep 0.3; echo err1 >&2; sleep 0.3; echo out2");
    const json = await runBin(["logs", "--json", "--address", address, jobId]);
    expect(json.code).toBe(0);
    const events = json.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as { seq: number; type: string; stream?: string; data?: string });
    expect(events.map(({ seq }) => seq)).toEqual(events.map((_, index) => index + 1));
    expect(events.at(-1)?.type).toBe("completed");
    const output = events.filter((event) => event.type === "output");
    expect(output.map(({ stream, data }) => [stream, data])).toEqual([
      ["stdout", "out1\n"],
      ["stderr", "err1\n"],
      ["stdout", "out2\n"],
    ]);

    const afterFirst = output[0]!.seq;
    const resumed = await runBin(["logs", "--after-seq", String(afterFirst), "--address", address, jobId]);
    expect(resumed.stdout).toBe("out2\n");
    expect(resumed.stderr).toBe("err1\n");
  });

  it("follows a running job live with -f and exits when it ends", async () => {
    const job = await client.dispatch({ command: "echo one; sleep 30; echo never" });
    const child = spawnBin(["logs", "-f", "--address", address, job.jobId]);
    const outcome = outcomeOf(child);
    await seen(child, "one\n");
    // The first line arrived while the job still runs: live, not replayed at the end.
    expect((await job.status()).ended).toBe(false);
    expect(child.exitCode).toBeNull();
    await job.cancel();
    const { code, stdout } = await outcome;
    expect(code).toBe(0);
    expect(stdout).toBe("one\n");
  });

  it("without -f prints what a running job has written so far and exits", async () => {
    const job = await client.dispatch({ command: "echo so-far; sleep 30" });
    try {
      for await (const event of job.events()) if (event.type === "output") break;
      const { code, stdout } = await runBin(["logs", "--address", address, job.jobId]);
      expect(code).toBe(0);
      expect(stdout).toBe("so-far\n");
      expect((await job.status()).ended).toBe(false);
    } finally {
      await job.cancel();
    }
  });

  it("refuses an --after-seq that is not a seq with exit code 2", async () => {
    const { code } = await runBin(["logs", "--after-seq", "-1", "--address", address, "x"]);
    expect(code).toBe(2);
  });
});

describe("opencode-worker cancel", () => {
  it("stops a running job, and says so as a line and as JSON", async () => {
    const job = await client.dispatch({ command: "sleep 30" });
    const human = await runBin(["cancel", "--address", address, job.jobId]);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe(`job ${job.jobId}: cancelled\n`);
    expect((await job.wait()).state).toBe("cancelled");
    const json = await runBin(["cancel", "--json", "--address", address, job.jobId]);
    expect(JSON.parse(json.stdout)).toEqual({ jobId: job.jobId, cancelled: true, state: "cancelled" });
  });
});

describe("opencode-worker metrics and health", () => {
  it("prints the worker's metrics, as lines and as JSON", async () => {
    const human = await runBin(["metrics", "--address", address]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^isolation:\s+\S+/m);
    const json = await runBin(["metrics", "--json", "--address", address]);
    expect(JSON.parse(json.stdout)).toMatchObject({ workerId: expect.any(String), concurrency: expect.any(Number) });
  });

  it("prints SERVING from grpc.health.v1 and exits 0", async () => {
    expect(await runBin(["health", "--address", address])).toMatchObject({ code: 0, stdout: "SERVING\n" });
    const json = await runBin(["health", "--json", "--address", address]);
    expect(JSON.parse(json.stdout)).toEqual({ status: "SERVING" });
  });
});

describe("opencode-worker run", () => {
  it("passes piped stdin to the job", async () => {
    const { code, stdout } = await runBin(["run", "--address", address, "--", "tr a-z A-Z"], "piped in\n");
    expect(code).toBe(0);
    expect(stdout).toBe("PIPED IN\n");
  });

  it("refuses stdin larger than a worker accepts in one request, exit 125", async () => {
    const { code, stderr } = await runBin(
      ["run", "--address", address, "--grpc.max_receive_message_bytes=16", "--", "cat"],
      "x".repeat(17),
    );
    expect(code).toBe(125);
    expect(stderr).toContain("grpc.max_receive_message_bytes");
  });

  it("exits 130 on Ctrl-C, after cancelling the job", async () => {
    const child = spawnBin(["run", "--address", address, "--", "echo started; sleep 30"]);
    const outcome = outcomeOf(child);
    await seen(child, "started\n");
    child.kill("SIGINT");
    const { code, stderr } = await outcome;
    expect(code).toBe(130);
    expect(stderr).toContain("cancel");
    expect(await client.listSessions()).toEqual([]);
  });

  it("exits 125 at once when the connection is refused, not after the 30 s deadline", async () => {
    const started = Date.now();
    const { code, stderr } = await runBin(["run", "--address", await refusedAddress(), "--", "true"]);
    expect(code).toBe(125);
    expect(stderr).toContain("could not connect");
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("the command line", () => {
  it("prints the usage on stdout and exits 2 without arguments, starting nothing", async () => {
    const { code, stdout } = await runBin([]);
    expect(code).toBe(2);
    expect(stdout).toContain("usage: opencode-worker <command>");
  });

  it("prints its version", async () => {
    expect(await runBin(["--version"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^opencode-worker \d+\.\d+\.\d+\n$/) });
  });

  it.each(["serve", "run", "ls", "status", "logs", "cancel", "metrics", "health"])("prints the help of %s and exits 0", async (command) => {
    const { code, stdout } = await runBin([command, "--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^usage: opencode-worker ${command} `));
  });

  it.each([
    ["ls", "--follow"],
    ["status", "--bogus"],
    ["health", "-x"],
  ])("exits 2 for an unknown flag: %s %s", async (command, flag) => {
    const { code, stderr } = await runBin([command, flag, "--address", "127.0.0.1:1"]);
    expect(code).toBe(2);
    expect(stderr).toContain(`usage: opencode-worker ${command}`);
  });
});

/** An address where nothing listens: connections are refused at once. */
async function refusedAddress(): Promise<string> {
  const listener = createServer();
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const { port } = listener.address() as { port: number };
  await new Promise((resolve) => listener.close(resolve));
  return `127.0.0.1:${port}`;
}
