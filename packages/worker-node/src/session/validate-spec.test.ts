import { beforeAll, describe, expect, it } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { JobSpec } from "@opencode-worker/shared";
import { loadConfig } from "../config/index.js";
import type { WorkerConfig } from "../config/worker-config.js";
import { WorkerError } from "../errors.js";
import { sessionPaths } from "../sandbox/driver.js";
import { buildJobEnv } from "../security/env-filter.js";
import { MAX_EXEC_STRING_BYTES, MAX_EXEC_TOTAL_BYTES } from "./exec-size.js";
import { validateSpec } from "./validate-spec.js";

/** A worker that runs no agent tasks: these tests are about commands. */
const NO_AGENTS = { refusal: "no agent tasks in this test" };

const BASE_DIR = "/srv/opencode-worker/sessions";
/** The longest string the kernel execs, without its NUL. */
const LONGEST = MAX_EXEC_STRING_BYTES - 1;
/** What one string costs against the total: its bytes, its NUL and its 8-byte pointer. */
const cost = (text: string) => Buffer.byteLength(text) + 1 + 8;

let config: WorkerConfig;
beforeAll(async () => {
  // Nothing is created: the probe is a no-op, so the base dir only shapes the worker's default variables.
  ({ config } = await loadConfig({
    argv: [],
    env: {},
    cwd: "/",
    probeDir: async () => {},
    overrides: { session: { base_dir: BASE_DIR }, governance: { command_policy: "off" } },
  }));
});

const spec = (fields: Partial<JobSpec>) => JobSpec.fromPartial(fields);
const env = (entries: Array<[string, string]>) => new Map(entries);

async function refusal(fields: Partial<JobSpec>): Promise<WorkerError> {
  const error = await validateSpec(spec(fields), config, NO_AGENTS).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkerError);
  expect((error as WorkerError).code).toBe("INVALID_ARGUMENT");
  return error as WorkerError;
}

/** What the kernel says to exec'ing these strings (argv[0] is /bin/true, so only their size can fail it). */
function kernelVerdict(args: string[], variables: Record<string, string>): string {
  const result = spawnSync("/bin/true", args, { env: variables });
  return result.error ? ((result.error as NodeJS.ErrnoException).code ?? "error") : "ok";
}

describe("validateSpec refuses what the kernel would refuse at exec (E2BIG)", () => {
  it("a 1 MiB argv item, naming argv[i] and the limit", async () => {
    const error = await refusal({ argv: ["printf", "%s", "x".repeat(1024 ** 2)] });
    expect(error.context.field).toBe("argv[2]");
    expect(error.message).toMatch(/^argv\[2\]: is 1048576 bytes; .* over 131071 bytes \(MAX_ARG_STRLEN\)/);
  });

  it("draws the line for one argv item exactly where the kernel does", async () => {
    const fits = "x".repeat(LONGEST);
    const over = "x".repeat(LONGEST + 1);
    await expect(validateSpec(spec({ argv: ["true", fits] }), config, NO_AGENTS)).resolves.toMatchObject({ argv: ["true", fits] });
    expect((await refusal({ argv: ["true", over] })).context.field).toBe("argv[1]");
    expect(kernelVerdict([fits], {})).toBe("ok");
    expect(kernelVerdict([over], {})).toBe("E2BIG");
  });

  it("a 200 KiB command, naming `command` (the caller's field, not sh's argv[2])", async () => {
    const error = await refusal({ command: `echo ${"x".repeat(200 * 1024)}` });
    expect(error.context.field).toBe("command");
    expect(error.message).toContain("131071 bytes");
    expect(error.message).toContain("`files`");
  });

  it("counts a variable as the NAME=value string the kernel sees, to the byte", async () => {
    const fits = "x".repeat(LONGEST - "BIG=".length);
    const over = `${fits}x`;
    await expect(validateSpec(spec({ argv: ["true"], env: env([["BIG", fits]]) }), config, NO_AGENTS)).resolves.toMatchObject({
      env: env([["BIG", fits]]),
    });
    const error = await refusal({ argv: ["true"], env: env([["BIG", over]]) });
    expect(error.context.field).toBe('env["BIG"]');
    expect(error.message).toContain("131071 bytes");
    expect(kernelVerdict([], { BIG: fits })).toBe("ok");
    expect(kernelVerdict([], { BIG: over })).toBe("E2BIG");
  });

  it("a 200 KiB env value, naming the variable", async () => {
    expect((await refusal({ argv: ["true"], env: env([["DATA", "x".repeat(200 * 1024)]]) })).context.field).toBe('env["DATA"]');
  });

  it("10^5 small variables, naming env with the total and the limit", async () => {
    const many = env(Array.from({ length: 100_000 }, (_, i) => [`V${i}`, "x"]));
    const error = await refusal({ command: "true", env: many });
    expect(error.context.field).toBe("env");
    expect(error.message).toMatch(
      /^env: command and env together take 1\.\d+ MiB \(\d+ bytes.*\); the limit is 1 MiB \(the kernel refuses larger exec arguments\): pass large data/,
    );
  });

  it("names argv for a total made of large arguments", async () => {
    const args = Array.from({ length: 9 }, () => "x".repeat(120 * 1024));
    const error = await refusal({ argv: ["true", ...args], env: env([["A", "x".repeat(100 * 1024)]]) });
    expect(error.context.field).toBe("argv");
    expect(error.message).toMatch(/^argv: argv and env together take/);
  });

  it("counts the worker's own variables (session paths under the base dir) in the total, to the byte", async () => {
    // The defaults EXECUTE adds, for a session dir of the real length (`session-` and a 36-character uuid).
    const defaults = buildJobEnv(new Map(), sessionPaths(`${BASE_DIR}/session-${"0".repeat(36)}`));
    const defaultsCost = Object.entries(defaults).reduce((sum, [name, value]) => sum + cost(`${name}=${value}`), 0);
    const room = MAX_EXEC_TOTAL_BYTES - cost("true") - defaultsCost;
    const variables = env(variablesCosting(room));
    await expect(validateSpec(spec({ argv: ["true"], env: variables }), config, NO_AGENTS)).resolves.toMatchObject({ env: variables });
    expect((await refusal({ argv: ["true"], env: env(variablesCosting(room + 1)) })).context.field).toBe("env");
  });
});

describe("validateSpec with a workspace", () => {
  const manifest = (sizeBytes: string, mode = 0) => ({
    entries: [{ path: "src/a.ts", digest: { sha256: "b".repeat(64), sizeBytes }, mode, symlinkTarget: "" }],
    remoteOnly: [],
  });

  it("carries the validated manifest, and a spec hash that tells manifests apart (Dispatch's idempotency)", async () => {
    const first = await validateSpec(spec({ jobId: "w", argv: ["true"], workspace: manifest("5") }), config, NO_AGENTS);
    expect(first.workspace?.entries).toEqual([
      { kind: "file", path: "src/a.ts", digest: { sha256: "b".repeat(64), sizeBytes: 5 }, mode: 0o644 },
    ]);
    const again = await validateSpec(spec({ jobId: "w", argv: ["true"], workspace: manifest("5") }), config, NO_AGENTS);
    const otherMode = await validateSpec(spec({ jobId: "w", argv: ["true"], workspace: manifest("5", 0o755) }), config, NO_AGENTS);
    expect(again.specHash).toBe(first.specHash);
    expect(otherMode.specHash).not.toBe(first.specHash);
    expect((await validateSpec(spec({ argv: ["true"] }), config, NO_AGENTS)).workspace).toBeUndefined();
  });

  it("refuses a manifest larger than the job's disk (limits.max_disk_bytes): materialized files live on it", async () => {
    const limits = { maxDiskBytes: "1000" };
    await expect(validateSpec(spec({ argv: ["true"], limits, workspace: manifest("1000") }), config, NO_AGENTS)).resolves.toBeDefined();
    expect((await refusal({ argv: ["true"], limits, workspace: manifest("1001") })).context.field).toBe("workspace.entries");
  });

  it("refuses a cwd through a workspace link, naming cwd", async () => {
    const workspace = { entries: [{ path: "up", symlinkTarget: "/", mode: 0 }], remoteOnly: [] };
    expect((await refusal({ argv: ["true"], cwd: "up", workspace })).context.field).toBe("cwd");
  });
});

/** Variables F0, F1... whose strings cost exactly `total` bytes against the budget. */
function variablesCosting(total: number): Array<[string, string]> {
  const variables: Array<[string, string]> = [];
  for (let i = 0, left = total; left > 0; i += 1) {
    const name = `F${i}`;
    const rest = left - cost(`${name}=`);
    // The last variable takes the remainder, so no sliver too small for a variable of its own is left.
    const size = rest - 100_000 < 32 ? rest : 100_000;
    variables.push([name, "x".repeat(size)]);
    left -= cost(`${name}=`) + size;
  }
  return variables;
}
