import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { JobSpec, WorkerServiceClient } from "@opencode-worker/shared";
import { WorkerClient } from "@opencode-worker/master-client";
import { startTestWorker, type TestWorker } from "../harness.js";
import { HealthClient } from "../health-client.js";
import { tokenLine } from "../support/certificates.js";

/*
 * A job belongs to the identity that dispatched it: another caller learns nothing of it through any
 * RPC, an admin sees and cancels all. Tokens on loopback without TLS, which the worker allows.
 */
const BUF = fileURLToPath(new URL("../../../../node_modules/.bin/buf", import.meta.url));
let dir: string;
let t: TestWorker;
let raw: WorkerServiceClient;
let doneJob: string;
let runningJob: string;

const as = (token: string | undefined): Metadata => {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
};

/** The status code of a unary call made with `metadata` (OK when it succeeds). */
function unaryCode(call: (callback: (error: ServiceError | null) => void) => void): Promise<number> {
  return new Promise((resolve) => call((error) => resolve(error?.code ?? status.OK)));
}

/** The status code a server stream ends with. */
function streamCode(call: ClientReadableStream<unknown>): Promise<number> {
  return new Promise((resolve) => {
    call.on("data", () => undefined);
    call.on("error", (error: ServiceError) => resolve(error.code));
    call.on("end", () => resolve(status.OK));
  });
}

/** Every RPC about one job, as `token`'s holder: each one's status code. */
async function codesFor(token: string, jobId: string): Promise<Record<string, number>> {
  const m = as(token);
  return {
    status: await unaryCode((cb) => raw.status({ jobId }, m, cb)),
    collect: await unaryCode((cb) => raw.collect({ jobId, wait: false }, m, cb)),
    streamJob: await streamCode(raw.streamJob({ target: { $case: "jobId", value: jobId }, afterSeq: "0" }, m)),
    readOutput: await streamCode(raw.readOutput({ jobId, stream: 1, offset: "0" }, m)),
    readArtifact: await streamCode(raw.readArtifact({ jobId, path: "a.txt", offset: "0", length: "0" }, m)),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ocw-owners-"));
  const tokenFile = join(dir, "tokens");
  await writeFile(tokenFile, tokenLine("alice", "alice-token") + tokenLine("bob", "bob-token") + tokenLine("root", "root-token"));
  t = await startTestWorker({ auth: { token_file: tokenFile, admins: ["root"] } }, { client: { token: "alice-token" } });
  raw = new WorkerServiceClient(t.worker.address, credentials.createInsecure());
  doneJob = (await t.client.run({ jobId: "alice-done", command: 'echo out; echo art > "$OPENCODE_OUTPUT_DIR/a.txt"' })).jobId;
  runningJob = (await t.client.dispatch({ jobId: "alice-running", command: "sleep 60" })).jobId;
}, 60_000);
afterAll(async () => {
  raw.close();
  await t.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("job ownership", () => {
  it("gives the owner every RPC", async () => {
    expect(await codesFor("alice-token", doneJob)).toEqual({ status: 0, collect: 0, streamJob: 0, readOutput: 0, readArtifact: 0 });
  });

  it("answers another caller NOT_FOUND for every RPC about the job, as for a job that never was", async () => {
    const notFound = {
      status: status.NOT_FOUND,
      collect: status.NOT_FOUND,
      streamJob: status.NOT_FOUND,
      readOutput: status.NOT_FOUND,
      readArtifact: status.NOT_FOUND,
    };
    expect(await codesFor("bob-token", doneJob)).toEqual(notFound);
    expect(await codesFor("bob-token", runningJob)).toEqual(notFound);
    expect(await unaryCode((cb) => raw.cancel({ jobId: runningJob, reason: "" }, as("bob-token"), cb))).toBe(status.NOT_FOUND);
    const details = (jobId: string) =>
      new Promise<string>((resolve) =>
        raw.status({ jobId }, as("bob-token"), (error) => resolve(error?.details.replace(jobId, "ID") ?? "")),
      );
    expect(await details(doneJob)).toBe(await details("never-dispatched"));
  });

  it("refuses another caller's job_id at Dispatch with ALREADY_EXISTS, never attaching to it", async () => {
    const spec = JobSpec.fromPartial({ jobId: runningJob, command: "sleep 60" });
    expect(await unaryCode((cb) => raw.dispatch({ spec }, as("bob-token"), cb))).toBe(status.ALREADY_EXISTS);
    expect(await streamCode(raw.streamJob({ target: { $case: "spec", value: spec }, afterSeq: "0" }, as("bob-token")))).toBe(
      status.ALREADY_EXISTS,
    );
  });

  it("lists a caller's own sessions only", async () => {
    const ids = (token: string) =>
      new Promise<string[]>((resolve, reject) =>
        raw.listSessions({}, as(token), (error, response) => (error ? reject(error) : resolve(response!.sessions.map((s) => s.jobId)))),
      );
    expect(await ids("alice-token")).toContain(runningJob);
    expect(await ids("bob-token")).not.toContain(runningJob);
    expect(await ids("root-token")).toContain(runningJob);
  });

  it("lets an admin see and cancel another caller's job", async () => {
    expect(await codesFor("root-token", doneJob)).toEqual({ status: 0, collect: 0, streamJob: 0, readOutput: 0, readArtifact: 0 });
    const admin = WorkerClient.lazy({ address: t.worker.address, token: "root-token" });
    try {
      expect(await (await admin.job(runningJob)).cancel("by the admin")).toMatchObject({ cancelled: true });
    } finally {
      admin.close();
    }
  });
});

describe("without a token", () => {
  it("refuses every WorkerService call", async () => {
    expect(await unaryCode((cb) => raw.listSessions({}, as(undefined), cb))).toBe(status.UNAUTHENTICATED);
    expect(await streamCode(raw.readOutput({ jobId: doneJob, stream: 1, offset: "0" }, as(undefined)))).toBe(status.UNAUTHENTICATED);
  });

  it("keeps health and reflection open", async () => {
    const health = new HealthClient(t.worker.address);
    try {
      expect(await health.status()).toBe("SERVING");
    } finally {
      health.close();
    }
    const { stdout } = await promisify(execFile)(BUF, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-services",
      `http://${t.worker.address}`,
    ]);
    expect(stdout).toContain("opencode.worker.v1.WorkerService");
  });
});
