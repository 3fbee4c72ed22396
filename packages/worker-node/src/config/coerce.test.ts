import { describe, expect, it } from "@jest/globals";
import { coerce } from "./coerce.js";
import { CONFIG_OPTIONS, defaultValue, findOption } from "./schema.js";

function setting(name: string, value: unknown) {
  return { option: findOption(name, value, "test"), value, source: "test" };
}

describe("coerce", () => {
  it.each<[string, unknown, unknown]>([
    ["worker.concurrency", "8", 8],
    ["worker.concurrency", 8, 8],
    ["worker.concurrency", " 8 ", 8],
    ["governance.default_cpu", "0.5", 0.5],
    ["governance.max_memory_bytes", "512MiB", 512 * 1024 ** 2],
    ["governance.max_memory_bytes", "2GB", 2_000_000_000],
    ["governance.max_memory_bytes", 4096, 4096],
    ["worker.shutdown_grace_ms", "0", 0],
    ["security.trusted_jobs", "true", true],
    ["security.trusted_jobs", "0", false],
    ["security.trusted_jobs", true, true],
    ["security.driver", "bwrap", "bwrap"],
    ["governance.command_allowlist", "git, node,,make", ["git", "node", "make"]],
    ["governance.command_allowlist", ["git", "node"], ["git", "node"]],
    ["grpc.port", "0", 0],
    ["grpc.port", "65535", 65535],
  ])("reads %s = %p as %p", (name, value, expected) => {
    expect(coerce(setting(name, value))).toEqual(expected);
  });

  it.each<[string, unknown]>([
    ["worker.concurrency", "abc"],
    ["worker.concurrency", "1.5"],
    ["worker.concurrency", "0"],
    ["worker.concurrency", true],
    ["worker.concurrency", ""],
    ["governance.default_cpu", "0"],
    ["governance.default_cpu", "1e400"],
    ["governance.max_memory_bytes", "12 parsecs"],
    ["governance.max_memory_bytes", "0"],
    ["grpc.max_send_message_bytes", "4GiB"],
    ["worker.shutdown_grace_ms", "-1"],
    ["worker.shutdown_grace_ms", "30s"],
    ["security.trusted_jobs", "yes"],
    ["security.min_isolation", "strict"],
    ["security.min_isolation", "SANDBOX"],
    ["governance.command_allowlist", ["git", 3]],
    ["governance.command_allowlist", ["git", " "]],
    ["grpc.port", "65536"],
    ["grpc.port", "-1"],
    ["grpc.host", ""],
    ["grpc.host", 127],
    ["security.sandbox_uid_base", "0"],
  ])("rejects %s = %p with a ConfigError naming the key, value and source", (name, value) => {
    expect(() => coerce(setting(name, value))).toThrow(expect.objectContaining({ name: "ConfigError", key: name, value, source: "test" }));
  });

  it("accepts every option's own default", () => {
    for (const option of CONFIG_OPTIONS) {
      const value = defaultValue(option.spec);
      expect(coerce({ option, value, source: "default" })).toEqual(value);
    }
  });
});
