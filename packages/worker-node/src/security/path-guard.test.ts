import { describe, expect, it } from "@jest/globals";
import { WorkerError } from "../errors.js";
import { validateArtifactPatterns, validateCwd, validateInputFiles, validateInputPath } from "./path-guard.js";

function refusal(run: () => unknown): WorkerError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as WorkerError).code).toBe("INVALID_ARGUMENT");
    return error as WorkerError;
  }
  throw new Error("expected INVALID_ARGUMENT");
}

const quotas = { maxFiles: 10, maxFilesBytes: 100 };
const files = (...names: string[]) => new Map(names.map((name) => [name, Buffer.from("x")]));

describe("validateInputPath", () => {
  it.each([
    ["", "empty"],
    ["/etc/passwd", "absolute"],
    ["../x", "leading .."],
    ["a/../../x", "inner .."],
    ["a/..", "trailing .."],
    ["a\0b", "NUL"],
    ["a\nb", "newline"],
    ["a\u001bb", "escape"],
    ["a\u0085b", "C1 control"],
    ["a\ud800b", "lone surrogate"],
    ["a\\b", "backslash"],
    ["dir/", "trailing slash"],
    [".", "only a dot"],
    ["./", "dot and slash"],
    [`${"x".repeat(256)}`, "segment over 255 bytes"],
    [`${"é".repeat(128)}`, "segment over 255 bytes in UTF-8"],
    [`${"a/".repeat(2048)}b`, "path over 4096 bytes"],
  ])("refuses %j (%s)", (name) => {
    const error = refusal(() => validateInputPath('files["x"]', name));
    expect(error.context.field).toBe('files["x"]');
  });

  it("normalises `.` and empty segments", () => {
    expect(validateInputPath("f", "./a//b/./c")).toBe("a/b/c");
    expect(validateInputPath("f", `${"x".repeat(255)}/y`)).toBe(`${"x".repeat(255)}/y`);
  });
});

describe("validateInputFiles", () => {
  it("names the offending entry", () => {
    expect(refusal(() => validateInputFiles(files("../x"), new Map(), quotas)).context.field).toBe('files["../x"]');
  });

  it("refuses names that normalise to the same path", () => {
    const error = refusal(() => validateInputFiles(files("a/b", "./a//b"), new Map(), quotas));
    expect(error.message).toContain("same path");
  });

  it("refuses a file that is also a parent directory of another", () => {
    const error = refusal(() => validateInputFiles(files("a/b/c", "a/b"), new Map(), quotas));
    expect(error.context.field).toBe('files["a/b"]');
  });

  it("enforces session.max_files and session.max_files_bytes", () => {
    const many = refusal(() => validateInputFiles(files(...Array.from({ length: 11 }, (_, i) => `f${i}`)), new Map(), quotas));
    expect(many.context.field).toBe("files");
    expect(many.message).toContain("session.max_files");
    const big = refusal(() => validateInputFiles(new Map([["a", Buffer.alloc(101)]]), new Map(), quotas));
    expect(big.message).toContain("session.max_files_bytes");
    expect(validateInputFiles(new Map([["a", Buffer.alloc(100)]]), new Map(), quotas)).toHaveLength(1);
  });

  it("strips setuid, setgid and sticky bits, and defaults to 0644", () => {
    const result = validateInputFiles(files("run.sh", "data"), new Map([["run.sh", 0o7755]]), quotas);
    expect(result.map(({ path, mode }) => [path, mode])).toEqual([
      ["data", 0o644],
      ["run.sh", 0o755],
    ]);
  });

  it("refuses modes for unknown files and modes above 0o7777", () => {
    expect(refusal(() => validateInputFiles(files("a"), new Map([["b", 0o644]]), quotas)).context.field).toBe('file_modes["b"]');
    expect(refusal(() => validateInputFiles(files("a"), new Map([["a", 0o10000]]), quotas)).context.field).toBe('file_modes["a"]');
  });
});

describe("validateCwd", () => {
  it("accepts the work dir and relative directories", () => {
    expect(validateCwd("")).toBe("");
    expect(validateCwd(".")).toBe("");
    expect(validateCwd("src/app/")).toBe("src/app");
  });

  it("refuses what input names refuse", () => {
    expect(refusal(() => validateCwd("../up")).context.field).toBe("cwd");
    expect(refusal(() => validateCwd("/tmp")).context.field).toBe("cwd");
  });
});

describe("validateArtifactPatterns", () => {
  it("normalises and keeps valid globs", () => {
    expect(validateArtifactPatterns(["./dist/**", "*.{js,map}"])).toEqual(["dist/**", "*.{js,map}"]);
  });

  it("refuses patterns that leave the output dir or do not parse", () => {
    expect(refusal(() => validateArtifactPatterns(["ok", "../**"])).context.field).toBe("artifacts[1]");
    expect(refusal(() => validateArtifactPatterns(["/etc/*"])).context.field).toBe("artifacts[0]");
    expect(refusal(() => validateArtifactPatterns(["a{b"])).message).toContain("glob");
  });
});
