import { afterEach, describe, expect, it } from "@jest/globals";
import { WorkerError } from "../errors.js";
import { buildJobEnv, validateJobEnv } from "./env-filter.js";

const base = { workDir: "/s/work", outputDir: "/s/output", homeDir: "/s/home", tmpDir: "/s/tmp" };

function refusal(env: Map<string, string>): WorkerError {
  try {
    validateJobEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as WorkerError).code).toBe("INVALID_ARGUMENT");
    return error as WorkerError;
  }
  throw new Error("expected INVALID_ARGUMENT");
}

describe("buildJobEnv", () => {
  const canary = "OPENCODE_TEST_WORKER_SECRET";
  afterEach(() => {
    delete process.env[canary];
  });

  it("starts empty: nothing of the worker's environment leaks", () => {
    process.env[canary] = "canary-value-4f1d";
    const env = buildJobEnv(new Map(), base);
    expect(Object.keys(env).sort()).toEqual(["HOME", "LANG", "OPENCODE_OUTPUT_DIR", "OPENCODE_WORK_DIR", "PATH", "TMPDIR"]);
    expect(Object.values(env).join("\n")).not.toContain("canary-value-4f1d");
    expect(env.HOME).toBe("/s/home");
    expect(env.OPENCODE_WORK_DIR).toBe("/s/work");
    expect(env.PATH).toBe("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  });

  it("adds the job's variables and lets it override PATH, HOME and LANG", () => {
    const env = buildJobEnv(
      new Map([
        ["PATH", "/opt/bin"],
        ["LANG", "de_DE.UTF-8"],
        ["FOO", "bar"],
        ["LD_PRELOAD", "/work/x.so"],
      ]),
      base,
    );
    expect(env).toMatchObject({ PATH: "/opt/bin", LANG: "de_DE.UTF-8", FOO: "bar", LD_PRELOAD: "/work/x.so" });
  });

  it("treats __proto__ and constructor as plain names", () => {
    const env = buildJobEnv(
      new Map([
        ["__proto__", "p"],
        ["constructor", "c"],
        ["hasOwnProperty", "h"],
      ]),
      base,
    );
    expect(Object.getPrototypeOf(env)).toBeNull();
    expect(Object.keys(env)).toEqual(expect.arrayContaining(["__proto__", "constructor", "hasOwnProperty"]));
    expect(env["__proto__"]).toBe("p");
    expect(env.constructor).toBe("c");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses to override the worker's reserved variables", () => {
    expect(refusal(new Map([["OPENCODE_WORK_DIR", "/"]])).context.field).toBe('env["OPENCODE_WORK_DIR"]');
    expect(refusal(new Map([["OPENCODE_OUTPUT_DIR", "/"]])).context.field).toBe('env["OPENCODE_OUTPUT_DIR"]');
  });

  it.each(["", "1ABC", "A-B", "A B", "A=B", "Ä", "A\0"])("refuses the name %j", (name) => {
    expect(refusal(new Map([[name, "x"]])).context.field).toBe(`env[${JSON.stringify(name)}]`);
  });

  // Sizes are the kernel's to limit, on the complete environment with argv: session/validate-spec.test.ts.
  it("refuses overlong names and NUL in values", () => {
    expect(refusal(new Map([["A".repeat(257), "x"]])).message).toContain("256");
    expect(refusal(new Map([["A", "x\0y"]])).message).toContain("NUL");
  });
});
