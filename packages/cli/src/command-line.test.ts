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
  it("asks for the usage without arguments, rather than starting a server", () => {
    expect(parseCommandLine([])).toEqual({ command: "usage" });
  });

  it("serves only when asked to", () => {
    expect(parseCommandLine(["serve"])).toEqual({ command: "serve", configArgs: [] });
  });

  it("passes serve's settings to the config loader untouched, names unknown to parseArgs included", () => {
    const settings = ["--config", "w.json", "--worker.concurrency=8", "--security.trusted_jobs", "--", "--grpc.port", "1"];
    expect(parseCommandLine(["serve", ...settings])).toEqual({ command: "serve", configArgs: settings });
  });

  it.each([["help"], ["--help"], ["-h"]])("asks for help with %s", (arg) => {
    expect(parseCommandLine([arg])).toEqual({ command: "help" });
  });

  it.each([
    [["help", "logs"], "logs"],
    [["logs", "--help"], "logs"],
    [["run", "-h", "--", "ls"], "run"],
    [["serve", "--grpc.port=1", "--help"], "serve"],
  ])("asks for one command's help with %j", (args, topic) => {
    expect(parseCommandLine(args)).toEqual({ command: "help", topic });
  });

  it.each([["--version"], ["-V"], ["version"]])("asks for the version with %s", (arg) => {
    expect(parseCommandLine([arg])).toEqual({ command: "version" });
  });

  it.each([[["frobnicate"]], [["--worker.concurrency=8"]]])("refuses an unknown command with exit code 2: %j", (args) => {
    expect(usageErrorOf(args).exitCode).toBe(2);
  });

  it("reads the client commands' flags, the job and the configuration settings", () => {
    expect(parseCommandLine(["logs", "-f", "--after-seq", "7", "--json", "--grpc.port=1", "--token-file", "t", "j-1"])).toEqual({
      command: "logs",
      flags: { follow: true, "after-seq": "7", json: true, "token-file": "t" },
      configArgs: ["--grpc.port=1"],
      jobId: "j-1",
    });
    expect(parseCommandLine(["ls", "--address", "h:1", "--ca", "ca.pem"])).toEqual({
      command: "ls",
      flags: { address: "h:1", ca: "ca.pem" },
      configArgs: [],
    });
  });

  it.each([
    ["a missing job", ["status"]],
    ["a second job", ["cancel", "j-1", "j-2"]],
    ["a job where none is taken", ["ls", "j-1"]],
    ["an unknown flag", ["metrics", "--follow"]],
    ["--json on run", ["run", "--json", "--", "ls"]],
  ])("refuses %s with exit code 2", (_case, args) => {
    expect(usageErrorOf(args).exitCode).toBe(2);
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
