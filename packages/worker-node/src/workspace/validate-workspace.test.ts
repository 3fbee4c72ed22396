import { describe, expect, it } from "@jest/globals";
import { Workspace, type WorkspaceEntry } from "@opencode-worker/shared";
import { WorkerError } from "../errors.js";
import { validateWorkspace } from "./validate-workspace.js";

const SHA = "a".repeat(64);
const file = (path: string, fields: Partial<WorkspaceEntry> = {}): Partial<WorkspaceEntry> => ({
  path,
  digest: { sha256: SHA, sizeBytes: "10" },
  ...fields,
});
const link = (path: string, symlinkTarget: string): Partial<WorkspaceEntry> => ({ path, symlinkTarget });
const QUOTAS = { maxEntries: 100, maxBytes: 1000 };
const NONE: { filePaths: string[]; cwd: string } = { filePaths: [], cwd: "" };

function validate(entries: Partial<WorkspaceEntry>[], extra: { remoteOnly?: string[]; others?: typeof NONE; quotas?: typeof QUOTAS } = {}) {
  return validateWorkspace(
    Workspace.fromPartial({ entries, remoteOnly: extra.remoteOnly ?? [] }),
    extra.others ?? NONE,
    extra.quotas ?? QUOTAS,
  );
}

/** The field an INVALID_ARGUMENT refusal names. */
function refusedField(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as WorkerError).code).toBe("INVALID_ARGUMENT");
    return (error as WorkerError).context.field;
  }
  throw new Error("not refused");
}

describe("validateWorkspace", () => {
  it("accepts a manifest: entries sorted, modes sanitized (0 -> 0644, setuid and sticky stripped), links kept as given", () => {
    const validated = validate([file("src/b.ts", { mode: 0o4755 }), link("link", "../../etc/passwd"), file("a", { mode: 0 })], {
      remoteOnly: ["./node_modules/**"],
    });
    expect(validated.entries).toEqual([
      { kind: "file", path: "a", digest: { sha256: SHA, sizeBytes: 10 }, mode: 0o644 },
      { kind: "link", path: "link", target: "../../etc/passwd" },
      { kind: "file", path: "src/b.ts", digest: { sha256: SHA, sizeBytes: 10 }, mode: 0o755 },
    ]);
    expect(validated.remoteOnly).toEqual(["node_modules/**"]);
    expect(validated.totalBytes).toBe(20);
  });

  it.each([
    ["a path that breaks JobSpec.files' rules", [file("ok"), file("a/../b")], "workspace.entries[1].path"],
    ["an absolute path", [file("/etc/passwd")], "workspace.entries[0].path"],
    ["two entries on one path", [file("a/b"), file("a//b")], "workspace.entries[1].path"],
    ["a file that another entry needs as a directory", [file("a/b/c"), file("a/b")], "workspace.entries[1].path"],
    ["a link that another entry would be written through", [link("dir", "/etc"), file("dir/passwd")], "workspace.entries[0].path"],
    ["both a digest and a target", [file("a", { symlinkTarget: "b" })], "workspace.entries[0]"],
    ["neither a digest nor a target", [{ path: "a" }], "workspace.entries[0]"],
    ["a mode above 0o7777", [file("a", { mode: 0o10000 })], "workspace.entries[0].mode"],
    ["a malformed sha256", [file("a", { digest: { sha256: "A".repeat(64), sizeBytes: "1" } })], "workspace.entries[0].digest.sha256"],
    [
      "a size beyond 2^53",
      [file("a", { digest: { sha256: SHA, sizeBytes: "18446744073709551615" } })],
      "workspace.entries[0].digest.size_bytes",
    ],
    ["a target with NUL", [link("a", "b\0c")], "workspace.entries[0].symlink_target"],
    ["a target over 4096 bytes", [link("a", "x".repeat(4097))], "workspace.entries[0].symlink_target"],
  ])("refuses %s, naming the field", (_what, entries, field) => {
    expect(refusedField(() => validate(entries))).toBe(field);
  });

  it("refuses more entries or bytes than workspace.max_entries / max_bytes", () => {
    expect(refusedField(() => validate([file("a"), file("b")], { quotas: { maxEntries: 1, maxBytes: 1000 } }))).toBe("workspace.entries");
    expect(refusedField(() => validate([file("a"), file("b")], { quotas: { maxEntries: 10, maxBytes: 19 } }))).toBe("workspace.entries");
    expect(validate([file("a"), file("b")], { quotas: { maxEntries: 2, maxBytes: 20 } }).entries).toHaveLength(2);
  });

  it("refuses a path in both files and the workspace, or one that needs the other's file to be a directory", () => {
    expect(refusedField(() => validate([file("a")], { others: { filePaths: ["a"], cwd: "" } }))).toBe("workspace.entries[0].path");
    expect(refusedField(() => validate([link("a", "/")], { others: { filePaths: ["a/b"], cwd: "" } }))).toBe("workspace.entries[0].path");
    expect(refusedField(() => validate([file("a/b")], { others: { filePaths: ["a"], cwd: "" } }))).toBe("workspace.entries[0].path");
    expect(validate([file("a/b")], { others: { filePaths: ["a/c"], cwd: "a" } }).entries).toHaveLength(1);
  });

  it("refuses a cwd that is, or goes through, an entry", () => {
    expect(refusedField(() => validate([link("up", "..")], { others: { filePaths: [], cwd: "up" } }))).toBe("cwd");
    expect(refusedField(() => validate([link("up", "..")], { others: { filePaths: [], cwd: "up/x" } }))).toBe("cwd");
  });

  it("refuses a remote_only pattern that is no glob or reaches outside, and more than 256 of them", () => {
    expect(refusedField(() => validate([], { remoteOnly: ["ok/**", "a[b"] }))).toBe("workspace.remote_only[1]");
    expect(refusedField(() => validate([], { remoteOnly: ["../x"] }))).toBe("workspace.remote_only[0]");
    expect(refusedField(() => validate([], { remoteOnly: Array.from({ length: 257 }, (_, i) => `p${i}`) }))).toBe("workspace.remote_only");
  });
});
