import { describe, expect, it } from "@jest/globals";
import { assertSection, CONFIG_OPTIONS, describeConfig, findOption } from "./schema.js";

describe("describeConfig", () => {
  it("gives one row per option with its dotted key, env var, shown default and doc", () => {
    const rows = describeConfig();
    expect(rows).toHaveLength(CONFIG_OPTIONS.length);
    expect(new Set(rows.map((row) => row.key)).size).toBe(rows.length);
    expect(rows).toContainEqual({
      key: "session.base_dir",
      env: "OPENCODE_WORKER_SESSION_BASE_DIR",
      default: "/opt/opencode/sessions",
      doc: expect.stringContaining("session directories"),
    });
  });

  it.each([
    ["worker.id", "OPENCODE_WORKER_WORKER_ID", "the host name"],
    ["worker.shutdown_grace_ms", "OPENCODE_WORKER_WORKER_SHUTDOWN_GRACE_MS", "30000 ms"],
    ["session.result_budget_bytes", "OPENCODE_WORKER_SESSION_RESULT_BUDGET_BYTES", "256 MiB"],
    ["governance.default_cpu", "OPENCODE_WORKER_GOVERNANCE_DEFAULT_CPU", "1 CPU"],
    ["governance.command_policy", "OPENCODE_WORKER_GOVERNANCE_COMMAND_POLICY", "enforce"],
    ["security.trusted_jobs", "OPENCODE_WORKER_SECURITY_TRUSTED_JOBS", "false"],
    ["grpc.port", "OPENCODE_WORKER_GRPC_PORT", "50051"],
  ])("renders %s as %s with default %p", (key, env, shown) => {
    expect(describeConfig()).toContainEqual(expect.objectContaining({ key, env, default: shown }));
  });

  it("documents every option", () => {
    for (const row of describeConfig()) expect(row.doc).not.toBe("");
  });
});

describe("findOption", () => {
  it("finds an option by its dotted name, with its camelCase field", () => {
    expect(findOption("session.max_artifacts_total_bytes", 1, "cli")).toMatchObject({
      section: "session",
      field: "maxArtifactsTotalBytes",
    });
  });

  it.each(["worker.concurency", "session.concurrency", "wroker.concurrency", "worker", "help"])(
    "rejects %s with a ConfigError carrying the name as given",
    (name) => {
      expect(() => findOption(name, "8", "cli")).toThrow(
        expect.objectContaining({ name: "ConfigError", key: name, value: "8", source: "cli" }),
      );
    },
  );

  it("accepts known sections and rejects unknown ones", () => {
    expect(() => assertSection("grpc", {}, "overrides")).not.toThrow();
    expect(() => assertSection("grcp", {}, "overrides")).toThrow(
      expect.objectContaining({ name: "ConfigError", key: "grcp", source: "overrides" }),
    );
  });
});
