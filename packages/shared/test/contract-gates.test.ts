import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "@jest/globals";

// The gates `pnpm test` runs on the proto, exercised on a scratch copy of the repository's proto/
// and buf.yaml: the real tree is never touched, so a failing case cannot leave it broken.
const root = fileURLToPath(new URL("../../..", import.meta.url));
const scripts = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
const jobProto = "proto/opencode/worker/v1/job.proto";

let scratch: string | undefined;
afterEach(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/** A copy of proto/ and buf.yaml, with `from` replaced by `to` in job.proto. */
function protoCopy(edit?: { from: string; to: string }): string {
  scratch = mkdtempSync(join(tmpdir(), "contract-gates-"));
  cpSync(join(root, "proto"), join(scratch, "proto"), { recursive: true });
  cpSync(join(root, "buf.yaml"), join(scratch, "buf.yaml"));
  if (edit) {
    const path = join(scratch, jobProto);
    const text = readFileSync(path, "utf8");
    expect(text).toContain(edit.from);
    writeFileSync(path, text.replace(edit.from, edit.to));
  }
  return scratch;
}

/** Runs a shell command in `cwd` the way pnpm runs a script: the repository's node_modules/.bin first on PATH. */
function run(command: string, cwd: string): { status: number | null; ruleIds: string[] } {
  const env = { ...process.env, PATH: `${join(root, "node_modules/.bin")}${delimiter}${process.env.PATH ?? ""}` };
  const { status, stdout } = spawnSync("sh", ["-c", `${command} --error-format json`], { cwd, env, encoding: "utf8" });
  const ruleIds = stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => (JSON.parse(line) as { type: string }).type);
  return { status, ruleIds };
}

describe("check:contract (buf breaking against proto/released.txtpb)", () => {
  const checkContract = scripts["check:contract"];

  it("is part of `pnpm test`", () => {
    expect(checkContract).toBeDefined();
    expect(scripts.test).toContain("pnpm check:contract");
  });

  it("passes on the current contract", () => {
    expect(run(checkContract!, protoCopy())).toEqual({ status: 0, ruleIds: [] });
  });

  it.each([
    ["a deleted field", { from: "  optional uint32 max_pids = 5;\n", to: "" }, "FIELD_NO_DELETE"],
    ["a renumbered field", { from: "optional uint32 max_pids = 5;", to: "optional uint32 max_pids = 25;" }, "FIELD_NO_DELETE"],
    ["a field's type changed", { from: "optional uint32 max_pids = 5;", to: "optional uint64 max_pids = 5;" }, "FIELD_SAME_TYPE"],
    ["a renamed enum value", { from: "JOB_STATE_QUEUED = 1;", to: "JOB_STATE_WAITING = 1;" }, "ENUM_VALUE_SAME_NAME"],
  ])("fails on %s", (_what, edit, ruleId) => {
    const { status, ruleIds } = run(checkContract!, protoCopy(edit));
    expect(status).not.toBe(0);
    expect(ruleIds).toContain(ruleId);
  });
});

describe("buf lint (run by `pnpm generate` and its --check)", () => {
  it("passes on the current proto", () => {
    expect(run("buf lint", protoCopy())).toEqual({ status: 0, ruleIds: [] });
  });

  it("fails on a field without a comment", () => {
    const comment =
      "  // Processes of the job's tree at once; going over it ends the job with\n  // TERMINATION_REASON_PIDS_LIMIT. Default 256, at most 4096.\n";
    const { status, ruleIds } = run("buf lint", protoCopy({ from: comment, to: "" }));
    expect(status).not.toBe(0);
    expect(ruleIds).toEqual(["COMMENT_FIELD"]);
  });
});
