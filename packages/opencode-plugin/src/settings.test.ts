import { describe, expect, it } from "@jest/globals";
import { DEFAULT_SETTINGS, readSettings, SettingsError } from "./settings.js";

function settingsError(options: Record<string, unknown> | undefined, env: NodeJS.ProcessEnv = {}): SettingsError {
  try {
    readSettings(options, env);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error("expected a SettingsError");
}

describe("readSettings", () => {
  it("gives the defaults without options or variables", () => {
    expect(readSettings(undefined, {})).toEqual({
      address: "127.0.0.1:50051",
      requestTimeoutMs: 30_000,
      resultBytes: 16 * 1024,
      waitMs: 600_000,
      limits: {},
      network: "restricted",
      remoteBash: false,
      remoteOnly: ["node_modules/**"],
    });
    expect(readSettings({}, {})).toEqual(DEFAULT_SETTINGS);
  });

  it("reads every setting from its environment variable, empty ones left at their default", () => {
    const env = {
      OPENCODE_WORKER_ADDRESS: "worker.internal:7000",
      OPENCODE_WORKER_REQUEST_TIMEOUT_MS: "5000",
      OPENCODE_WORKER_RESULT_BYTES: "2048",
      OPENCODE_WORKER_WAIT_MS: "60000",
      OPENCODE_WORKER_LIMITS: '{"memory":"1GiB","timeoutMs":600000}',
      OPENCODE_WORKER_NETWORK: "open",
      OPENCODE_WORKER_REMOTE_BASH: "1",
      OPENCODE_WORKER_REMOTE_ONLY: '["node_modules/**","target/**"]',
      OPENCODE_WORKER_DELEGATE_MODEL: "fakeprov/fake-1",
    };
    expect(readSettings(undefined, env)).toEqual({
      address: "worker.internal:7000",
      requestTimeoutMs: 5000,
      resultBytes: 2048,
      waitMs: 60_000,
      limits: { memory: "1GiB", timeoutMs: 600_000 },
      network: "open",
      remoteBash: true,
      remoteOnly: ["node_modules/**", "target/**"],
      delegateModel: "fakeprov/fake-1",
    });
    expect(readSettings(undefined, { OPENCODE_WORKER_ADDRESS: "", OPENCODE_WORKER_LIMITS: "" })).toEqual(DEFAULT_SETTINGS);
  });

  it("lets a plugin option win over its environment variable", () => {
    const env = {
      OPENCODE_WORKER_ADDRESS: "from-env:1",
      OPENCODE_WORKER_RESULT_BYTES: "2048",
      OPENCODE_WORKER_LIMITS: '{"memory":"1GiB"}',
    };
    const options = { address: "from-option:2", resultBytes: 4096, limits: { timeoutMs: 1000 } };
    expect(readSettings(options, env)).toMatchObject({ address: "from-option:2", resultBytes: 4096, limits: { timeoutMs: 1000 } });
    // An option left undefined does not hide the variable.
    expect(readSettings({ address: undefined }, env).address).toBe("from-env:1");
  });

  it.each([
    [{ address: "localhost" }, 'plugin option address must be a worker address "host:port", got "localhost"'],
    [{ address: 50051 }, 'plugin option address must be a worker address "host:port", got 50051'],
    [{ requestTimeoutMs: 0 }, "plugin option requestTimeoutMs must be an integer from 1 to 86400000, got 0"],
    [{ requestTimeoutMs: 1.5 }, "plugin option requestTimeoutMs must be an integer from 1 to 86400000, got 1.5"],
    [{ resultBytes: 100 }, "plugin option resultBytes must be an integer from 1024 to 49152, got 100"],
    [{ resultBytes: "16KiB" }, 'plugin option resultBytes must be an integer from 1024 to 49152, got "16KiB"'],
    [{ waitMs: -1 }, "plugin option waitMs must be an integer from 1 to 86400000, got -1"],
    [{ limits: [] }, 'plugin option limits must be an object of job limits like {"memory":"1GiB","timeoutMs":600000}, got []'],
    [{ limits: null }, 'plugin option limits must be an object of job limits like {"memory":"1GiB","timeoutMs":600000}, got null'],
    [{ network: "none" }, 'plugin option network must be "restricted" or "open", got "none"'],
    [{ remoteBash: "yes" }, 'plugin option remoteBash must be true or false (1 or 0), got "yes"'],
    [{ delegateModel: "gpt-4" }, 'plugin option delegateModel must be a model "provider/model", got "gpt-4"'],
    [{ delegateModel: 3 }, 'plugin option delegateModel must be a model "provider/model", got 3'],
    [{ remoteOnly: "node_modules/**" }, 'plugin option remoteOnly must be a list of globs like ["node_modules/**"], got "node_modules/**"'],
    [{ remoteOnly: [""] }, 'plugin option remoteOnly must be a list of globs like ["node_modules/**"], got [""]'],
  ])("refuses the option %j, naming it and its value", (options, message) => {
    expect(settingsError(options).message).toBe(message);
  });

  it.each([
    ["OPENCODE_WORKER_ADDRESS", "no-port", 'OPENCODE_WORKER_ADDRESS must be a worker address "host:port", got "no-port"'],
    ["OPENCODE_WORKER_REQUEST_TIMEOUT_MS", "30s", 'OPENCODE_WORKER_REQUEST_TIMEOUT_MS must be an integer from 1 to 86400000, got "30s"'],
    ["OPENCODE_WORKER_RESULT_BYTES", "2000000", 'OPENCODE_WORKER_RESULT_BYTES must be an integer from 1024 to 49152, got "2000000"'],
    ["OPENCODE_WORKER_WAIT_MS", "-5", 'OPENCODE_WORKER_WAIT_MS must be an integer from 1 to 86400000, got "-5"'],
    ["OPENCODE_WORKER_LIMITS", "{memory: 1GiB}", "OPENCODE_WORKER_LIMITS must be JSON, got {memory: 1GiB}"],
    [
      "OPENCODE_WORKER_LIMITS",
      '"1GiB"',
      'OPENCODE_WORKER_LIMITS must be an object of job limits like {"memory":"1GiB","timeoutMs":600000}, got "1GiB"',
    ],
    ["OPENCODE_WORKER_NETWORK", "closed", 'OPENCODE_WORKER_NETWORK must be "restricted" or "open", got "closed"'],
    ["OPENCODE_WORKER_REMOTE_BASH", "on", 'OPENCODE_WORKER_REMOTE_BASH must be true or false (1 or 0), got "on"'],
    ["OPENCODE_WORKER_REMOTE_ONLY", "node_modules/**", "OPENCODE_WORKER_REMOTE_ONLY must be JSON, got node_modules/**"],
  ])("refuses %s=%s, naming the variable and its value", (name, value, message) => {
    expect(settingsError(undefined, { [name]: value }).message).toBe(message);
  });

  it("refuses unknown option keys, naming them and the known ones", () => {
    expect(settingsError({ adress: "x:1", timeout: 5, network: "open" }).message).toBe(
      'unknown plugin option "adress", "timeout"; known: address, requestTimeoutMs, resultBytes, waitMs, limits, network, caFile, certFile, keyFile, token, tokenFile, remoteBash, remoteOnly, delegateModel',
    );
  });

  it("refuses keys every object inherits as unknown options", () => {
    expect(settingsError({ toString: "x" }).message).toMatch(/^unknown plugin option "toString"/);
  });

  it("lets the remoteBash option win over OPENCODE_WORKER_REMOTE_BASH, either way", () => {
    expect(readSettings({ remoteBash: false }, { OPENCODE_WORKER_REMOTE_BASH: "1" }).remoteBash).toBe(false);
    expect(readSettings({ remoteBash: true }, { OPENCODE_WORKER_REMOTE_BASH: "0" }).remoteBash).toBe(true);
    expect(readSettings(undefined, { OPENCODE_WORKER_REMOTE_BASH: "false" }).remoteBash).toBe(false);
  });

  it("parses OPENCODE_WORKER_LIMITS as JSON and passes its limits on unchanged", () => {
    // The SDK checks each limit when a job is dispatched, naming the limit.
    const limits = { memory: "512MiB", cpus: 2, timeoutMs: 60_000, idleTimeoutMs: 10_000, maxOutputBytes: "8MiB" };
    expect(readSettings(undefined, { OPENCODE_WORKER_LIMITS: JSON.stringify(limits) }).limits).toEqual(limits);
    expect(readSettings(undefined, { OPENCODE_WORKER_LIMITS: " {} " }).limits).toEqual({});
  });
});
