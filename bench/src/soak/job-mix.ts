/**
 * The kinds of job a soak mixes, each with what its caller must see: the end state and reason it
 * expects, and its own marker in the output (so a result served to the wrong caller, or another
 * job's output, is caught).
 */
import { readFileSync } from "node:fs";
import { JobFailedError, type JobResult, type JobSpec, type WorkerClient } from "@opencode-worker/master-client";

export const JOB_KINDS = [
  "trivial",
  "streaming",
  "failing",
  "cancelled",
  "timed-out",
  "over-limit",
  "stream-dropped",
  "client-gone",
] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** The caller a job runs for: its client and how to open another connection with its token. */
export interface SoakCaller {
  identity: string;
  client: WorkerClient;
  connect(): Promise<WorkerClient>;
}

// The test fixture, shipped to the job as an input file: the sandbox does not show it this repository.
const MEMORY_HOG = {
  content: readFileSync(new URL("../../../packages/worker-node/test/fixtures/programs/memory-hog.py", import.meta.url), "utf8"),
  mode: 0o755,
};

const STREAM_LINES = 2000;

/** Runs one job of `kind` for `caller`, with `marker` printed first; throws when anything is not as the kind expects. */
export async function runJob(kind: JobKind, caller: SoakCaller, marker: string): Promise<JobResult> {
  const echo = `echo ${marker}`;
  const client = caller.client;
  switch (kind) {
    case "trivial":
      return expectEnd(await client.run({ jobId: marker, command: echo }), marker, { state: "finished", exitCode: 0 });
    case "streaming": {
      const job = await client.dispatch({ jobId: marker, command: `${echo}; seq 1 ${STREAM_LINES}` });
      let streamed = "";
      for await (const event of job.events()) if (event.type === "output" && event.stream === "stdout") streamed += event.data.toString();
      const expected = `${marker}\n${Array.from({ length: STREAM_LINES }, (_, i) => `${i + 1}\n`).join("")}`;
      if (streamed !== expected) throw new Error(`${marker}: streamed ${streamed.length} bytes, not the ${expected.length} printed`);
      return expectEnd(await job.wait(), marker, { state: "finished", exitCode: 0 });
    }
    case "failing":
      return expectEnd(await ended(client.run({ jobId: marker, command: `${echo}; exit 3` })), marker, { state: "failed", exitCode: 3 });
    case "cancelled": {
      const job = await client.dispatch({ jobId: marker, command: `${echo}; sleep 30` });
      await firstOutput(job.events());
      await job.cancel("soak");
      return expectEnd(await job.wait(), marker, { state: "cancelled", reason: "cancelled" });
    }
    case "timed-out":
      return expectEnd(await ended(client.run({ jobId: marker, command: `${echo}; sleep 30`, limits: { timeoutMs: 300 } })), marker, {
        state: "timed_out",
        reason: "timeout",
        // On a loaded host the timeout may fall before the shell has printed anything.
        markerMayBeMissing: true,
      });
    case "over-limit":
      return expectEnd(
        await ended(
          client.run({
            jobId: marker,
            command: `${echo}; python3 memory-hog.py 256`,
            files: { "memory-hog.py": MEMORY_HOG },
            limits: { memory: "32MiB" },
          } satisfies JobSpec),
        ),
        marker,
        { reason: "memory_limit" },
      );
    case "stream-dropped": {
      // The client stops reading after the first output and drops the stream while the job still prints.
      const job = await client.dispatch({ jobId: marker, command: `${echo}; seq 1 200000` });
      await firstOutput(job.events());
      return expectEnd(await job.wait(), marker, { state: "finished", exitCode: 0 });
    }
    case "client-gone": {
      // A connection of its own that dispatches, follows, and closes mid-job; the caller's main client then collects.
      const own = await caller.connect();
      try {
        const job = await own.dispatch({ jobId: marker, command: `${echo}; sleep 0.2; echo after` });
        await firstOutput(job.events());
      } finally {
        own.close();
      }
      const result = await (await client.job(marker)).wait();
      if (!result.stdoutText.endsWith("after\n")) throw new Error(`${marker}: the job did not run on after its client went`);
      return expectEnd(result, marker, { state: "finished", exitCode: 0 });
    }
  }
}

/** The result whether the job finished or not: run() throws a JobFailedError, which carries it, for the rest. */
function ended(running: Promise<JobResult>): Promise<JobResult> {
  return running.catch((error: unknown) => {
    if (error instanceof JobFailedError) return error;
    throw error;
  });
}

/** Waits for the first stdout event, then leaves the iteration: the SDK cancels the stream. */
async function firstOutput(events: AsyncIterable<{ type: string }>): Promise<void> {
  for await (const event of events) if (event.type === "output") return;
  throw new Error("the job ended without output");
}

type Expected = Partial<Pick<JobResult, "state" | "exitCode" | "reason">> & { markerMayBeMissing?: boolean };

function expectEnd(result: JobResult, marker: string, { markerMayBeMissing, ...expected }: Expected): JobResult {
  const printed = result.stdoutText.startsWith(`${marker}\n`) || (markerMayBeMissing === true && result.stdoutText === "");
  if (result.jobId !== marker || !printed) {
    throw new Error(`${marker}: got the result of ${result.jobId}, whose stdout begins ${JSON.stringify(result.stdoutText.slice(0, 80))}`);
  }
  for (const [key, value] of Object.entries(expected)) {
    const got = result[key as keyof typeof expected];
    if (got !== value) throw new Error(`${marker}: ${key} ${String(got)}, expected ${String(value)} (${result.message})`);
  }
  return result;
}
