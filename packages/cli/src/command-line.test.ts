import { describe, expect, it } from "@jest/globals";
import { parseCommandLine, UsageError } from "./command-line.js";

function usageErrorOf(args: string[]): UsageError {
  try {
    parseCommandLine(args);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected a usage error for ${JSON.stringify(args)}`);
}

describe("parseCommandLine", () => {
  it.each([[[]], [["serve"]]])("serves by default: %j", (args) => {
    expect(parseCommandLine(args)).toEqual({ command: "serve", configArgs: [] });
  });

  it("passes serve's settings to the config loader untouched, names unknown to parseArgs included", () => {
    const settings = ["--config", "w.json", "--worker.concurrency=8", "--security.trusted_jobs", "--", "--grpc.port", "1"];
    expect(parseCommandLine(["serve", ...settings])).toEqual({ command: "serve", configArgs: settings });
    expect(parseCommandLine(settings)).toEqual({ command: "serve", configArgs: settings });
  });

  it.each([["help"], ["--help"], ["-h"]])("asks for help with %s", (arg) => {
    expect(parseCommandLine([arg])).toEqual({ command: "help" });
  });

  it("refuses an unknown command with exit code 2", () => {
    expect(usageErrorOf(["frobnicate"]).exitCode).toBe(2);
  });

  it("reads run's flags, in both spellings, and takes everything after `--` as the command", () => {
    expect(
      parseCommandLine([
        "run",
        "--address",
        "h:1",
        "--timeout-ms=300",
        "--memory",
        "1GiB",
        "--network",
        "open",
        "--cwd=src",
        "--",
        "ls",
        "-la",
      ]),
    ).toEqual({
      command: "run",
      flags: { address: "h:1", "timeout-ms": "300", memory: "1GiB", network: "open", cwd: "src" },
      configArgs: [],
      program: ["ls", "-la"],
    });
  });

  it("leaves flags after `--` to the command, and stops at the first `--`", () => {
    const invocation = parseCommandLine(["run", "--", "--address", "x", "--", "--grpc.port=1"]);
    expect(invocation).toEqual({ command: "run", flags: {}, configArgs: [], program: ["--address", "x", "--", "--grpc.port=1"] });
  });

  it("sets configuration settings aside for the config loader, in every spelling", () => {
    const invocation = parseCommandLine([
      "run",
      "--grpc.port=50052",
      "--config",
      "w.json",
      "--grpc.host",
      "::1",
      "--security.trusted_jobs",
      "--memory=1GiB",
      "--",
      "id",
    ]);
    expect(invocation).toEqual({
      command: "run",
      flags: { memory: "1GiB" },
      configArgs: ["--grpc.port=50052", "--config", "w.json", "--grpc.host", "::1", "--security.trusted_jobs"],
      program: ["id"],
    });
  });

  it.each([
    ["an unknown flag", ["run", "--adress", "h:1", "--", "ls"]],
    ["an unknown flag with its value inline", ["run", "--adress=h:1", "--", "ls"]],
    ["an unknown short flag", ["run", "-a", "--", "ls"]],
    ["a flag without its value", ["run", "--address"]],
    ["a flag whose value looks like a flag", ["run", "--address", "--memory", "1GiB", "--", "ls"]],
    ["a word before `--`", ["run", "ls", "--", "ls"]],
    ["no `--`", ["run", "ls"]],
    ["nothing after `--`", ["run", "--address", "h:1", "--"]],
    ["no command at all", ["run"]],
  ])("refuses %s with exit code 2", (_case, args) => {
    expect(usageErrorOf(args).exitCode).toBe(2);
  });
});
