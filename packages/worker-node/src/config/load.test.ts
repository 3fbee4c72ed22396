import { afterEach, beforeEach, describe, expect, it } from "@jest/globals";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_COMMAND_ALLOWLIST } from "./default-allowlist.js";
import type { DirProbe } from "./base-dir.js";
import { loadConfig, type LoadConfigOptions } from "./load.js";
import type { WorkerConfig } from "./worker-config.js";

/** Every directory is writable: lets the defaults stand without creating /opt/opencode/sessions. */
const anyDirWritable: DirProbe = async () => {};

const DOCUMENTED_DEFAULTS: WorkerConfig = {
  worker: { id: hostname(), concurrency: 4, maxRunningPerCaller: 0, maxQueuedPerCaller: 0, shutdownGraceMs: 30000 },
  session: {
    baseDir: "/opt/opencode/sessions",
    maxConcurrentSessions: 64,
    resultTtlMs: 600000,
    resultBudgetBytes: 268435456,
    maxFiles: 1000,
    maxFilesBytes: 67108864,
    maxArtifacts: 10000,
    maxArtifactBytes: 67108864,
    maxArtifactsTotalBytes: 268435456,
    artifactInlineBytes: 65536,
    resultOutputBytes: 8388608,
  },
  governance: {
    defaultCpu: 1,
    maxCpu: 2,
    defaultMemoryBytes: 536870912,
    maxMemoryBytes: 4294967296,
    defaultTimeoutMs: 300000,
    maxTimeoutMs: 3600000,
    defaultIdleTimeoutMs: 0,
    maxIdleTimeoutMs: 3600000,
    defaultMaxOutputBytes: 16777216,
    maxOutputBytes: 2147483648,
    defaultMaxPids: 256,
    maxPids: 4096,
    defaultAgentMemoryBytes: 1610612736,
    defaultModelRequests: 50,
    maxModelRequests: 1000,
    defaultModelTokens: 2000000,
    maxModelTokens: 100000000,
    defaultMaxDiskBytes: 1073741824,
    maxDiskBytes: 10737418240,
    commandAllowlist: [...DEFAULT_COMMAND_ALLOWLIST],
    commandPolicy: "enforce",
  },
  security: {
    minIsolation: "sandbox",
    trustedJobs: false,
    allowOpenNetwork: false,
    sandboxUidBase: 200000,
    driver: "auto",
    bwrapPath: "bwrap",
    slirp4netnsPath: "slirp4netns",
  },
  grpc: {
    host: "127.0.0.1",
    port: 50051,
    maxReceiveMessageBytes: 134217728,
    maxSendMessageBytes: 134217728,
    maxConcurrentStreams: 1000,
    keepaliveTimeMs: 30000,
    keepaliveTimeoutMs: 10000,
    maxConnections: 256,
    maxConnectionIdleMs: 1800000,
    maxConnectionAgeMs: 0,
    maxConnectionAgeGraceMs: 3600000,
    minPingIntervalMs: 5000,
    streamKeepaliveMs: 15000,
    stalledReaderTimeoutMs: 10000,
    insecure: false,
  },
  tls: { certFile: "", keyFile: "", clientCaFile: "" },
  auth: { tokenFile: "", admins: [] },
  // Pretty by default only on a terminal; jest's stdout usually is not one.
  logging: { level: "info", pretty: process.stdout.isTTY === true },
  metrics: { enabled: true, host: "127.0.0.1", port: 9464 },
  tracing: { exporter: "none", endpoint: "http://127.0.0.1:4318/v1/traces", serviceName: "opencode-worker" },
  workspace: { maxEntries: 50000, maxBytes: 2147483648, inlineBytes: 65536, maxChanges: 10000, maxChangeBytes: 1073741824 },
  agent: { enabled: true, opencodeDir: "/opt/opencode/base", providersFile: "" },
  blobs: { maxBytes: 4294967296 },
};

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), "config-load-"));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

/** Loads with nothing from the real process: no argv, no env, a fresh cwd. */
function load(options: LoadConfigOptions = {}) {
  return loadConfig({ argv: [], env: {}, cwd, probeDir: anyDirWritable, ...options });
}

async function writeConfigFile(document: unknown, name = "opencode-worker.json"): Promise<string> {
  const path = join(cwd, name);
  await writeFile(path, typeof document === "string" ? document : JSON.stringify(document));
  return path;
}

function configError(fields: Record<string, unknown>) {
  return expect.objectContaining({ name: "ConfigError", ...fields });
}

describe("loadConfig", () => {
  it("produces exactly the documented defaults when no source sets anything", async () => {
    expect(await load()).toEqual({ config: DOCUMENTED_DEFAULTS, notes: [] });
  });

  it("gives the CLI priority over env, env over the file, the file over defaults", async () => {
    const file = await writeConfigFile({
      worker: { concurrency: 5 },
      session: { max_files: 5, max_artifacts: 5 },
    });
    const env = { OPENCODE_WORKER_WORKER_CONCURRENCY: "6", OPENCODE_WORKER_SESSION_MAX_FILES: "6" };
    const { config, notes } = await load({ argv: ["--worker.concurrency", "7"], env });
    expect(config.worker.concurrency).toBe(7);
    expect(config.session.maxFiles).toBe(6);
    expect(config.session.maxArtifacts).toBe(5);
    expect(config.session.maxArtifactBytes).toBe(DOCUMENTED_DEFAULTS.session.maxArtifactBytes);
    expect(notes).toEqual([`read configuration from ${file}`]);
  });

  it("gives overrides priority over the CLI", async () => {
    const { config } = await load({ argv: ["--worker.concurrency=7"], overrides: { worker: { concurrency: 9 } } });
    expect(config.worker.concurrency).toBe(9);
  });

  it("reads the file --config names instead of the default one", async () => {
    await writeConfigFile({ grpc: { port: 1 } });
    const named = await writeConfigFile({ grpc: { port: 2 } }, "named.json");
    const { config, notes } = await load({ argv: ["--config", "named.json"] });
    expect(config.grpc.port).toBe(2);
    expect(notes).toEqual([`read configuration from ${named}`]);
  });

  it("reads byte sizes, lists, booleans and enums from every source", async () => {
    await writeConfigFile({ governance: { max_disk_bytes: "2GB", command_allowlist: ["git", "node"] } });
    const env = { OPENCODE_WORKER_GOVERNANCE_DEFAULT_MEMORY_BYTES: "512MiB", OPENCODE_WORKER_LOGGING_PRETTY: "1" };
    const argv = ["--governance.max_memory_bytes=8GiB", "--security.min_isolation=reduced", "--security.trusted_jobs"];
    const { config } = await load({ argv, env });
    expect(config.governance).toMatchObject({
      maxDiskBytes: 2_000_000_000,
      commandAllowlist: ["git", "node"],
      defaultMemoryBytes: 512 * 1024 ** 2,
      maxMemoryBytes: 8 * 1024 ** 3,
    });
    expect(config.security).toMatchObject({ minIsolation: "reduced", trustedJobs: true });
    expect(config.logging.pretty).toBe(true);
  });

  it("splits a comma-separated allowlist from the env", async () => {
    const env = { OPENCODE_WORKER_GOVERNANCE_COMMAND_ALLOWLIST: "git, node ,make" };
    expect((await load({ env })).config.governance.commandAllowlist).toEqual(["git", "node", "make"]);
  });

  describe("rejects with a ConfigError naming the key and the source", () => {
    it.each<[string, LoadConfigOptions, Record<string, unknown>]>([
      [
        "a wrong type in the env",
        { env: { OPENCODE_WORKER_WORKER_CONCURRENCY: "abc" } },
        { key: "worker.concurrency", value: "abc", source: "env OPENCODE_WORKER_WORKER_CONCURRENCY" },
      ],
      ["a value out of range", { argv: ["--worker.concurrency=0"] }, { key: "worker.concurrency", value: "0", source: "cli" }],
      ["a port above 65535", { argv: ["--grpc.port", "65536"] }, { key: "grpc.port", source: "cli" }],
      ["a bad enum", { argv: ["--logging.level=loud"] }, { key: "logging.level", value: "loud", source: "cli" }],
      ["a bad byte size", { argv: ["--session.max_files_bytes=lots"] }, { key: "session.max_files_bytes", value: "lots", source: "cli" }],
      ["an unknown key", { argv: ["--worker.concurency=8"] }, { key: "worker.concurency", source: "cli" }],
      [
        "an unknown section",
        { env: { OPENCODE_WORKER_WROKER_CONCURRENCY: "8" } },
        { key: "wroker.concurrency", source: "env OPENCODE_WORKER_WROKER_CONCURRENCY" },
      ],
      ["a bad value in overrides", { overrides: { grpc: { port: -1 } } }, { key: "grpc.port", value: -1, source: "overrides" }],
      [
        "a bad value a higher source replaces",
        { env: { OPENCODE_WORKER_WORKER_CONCURRENCY: "abc" }, argv: ["--worker.concurrency=8"] },
        { key: "worker.concurrency", source: "env OPENCODE_WORKER_WORKER_CONCURRENCY" },
      ],
      ["a default above its maximum", { argv: ["--governance.default_cpu=4"] }, { key: "governance.default_cpu", value: 4, source: "cli" }],
      [
        "a maximum lowered below the default",
        { env: { OPENCODE_WORKER_GOVERNANCE_MAX_PIDS: "100" } },
        { key: "governance.max_pids", value: 100, source: "env OPENCODE_WORKER_GOVERNANCE_MAX_PIDS" },
      ],
      [
        "both set, default above maximum",
        { overrides: { governance: { default_timeout_ms: 10_000, max_timeout_ms: 5_000 } } },
        { key: "governance.default_timeout_ms", value: 10_000, source: "overrides" },
      ],
      // Node would fire a longer timer after 1 ms.
      [
        "a timer beyond 2^31 ms",
        { argv: ["--grpc.max_connection_idle_ms=2147483648"] },
        { key: "grpc.max_connection_idle_ms", source: "cli" },
      ],
      ["a blob store too small to be of use", { argv: ["--blobs.max_bytes=1MiB"] }, { key: "blobs.max_bytes", source: "cli" }],
      ["a workspace that can hold no entry", { argv: ["--workspace.max_entries=0"] }, { key: "workspace.max_entries", source: "cli" }],
      ["a result that can list no change", { argv: ["--workspace.max_changes=0"] }, { key: "workspace.max_changes", source: "cli" }],
      ["a missing --config file", { argv: ["--config=nope.json"] }, { key: "config", value: "nope.json", source: "cli" }],
    ])("%s", async (_case, options, fields) => {
      await expect(load(options)).rejects.toEqual(configError(fields));
    });

    it("a wrong type in the file", async () => {
      const file = await writeConfigFile({ security: { trusted_jobs: "yes" } });
      await expect(load()).rejects.toEqual(configError({ key: "security.trusted_jobs", value: "yes", source: `file ${file}` }));
    });

    it("an unknown section in the file", async () => {
      const file = await writeConfigFile({ wroker: {} });
      await expect(load()).rejects.toEqual(configError({ key: "wroker", source: `file ${file}` }));
    });

    it("invalid JSON", async () => {
      const file = await writeConfigFile('{ "worker": { "concurrency": 8, } }');
      await expect(load()).rejects.toEqual(configError({ key: "config", value: file, source: `file ${file}` }));
    });
  });

  describe("session.base_dir", () => {
    it("falls back from an unwritable default to a per-user directory, with a note", async () => {
      const probeDir: DirProbe = async (dir) => {
        if (dir === "/opt/opencode/sessions") throw Object.assign(new Error("EACCES"), { code: "EACCES" });
      };
      const state = join(cwd, "state");
      const { config, notes } = await load({ env: { XDG_STATE_HOME: state }, probeDir });
      expect(config.session.baseDir).toBe(join(state, "opencode-worker", "sessions"));
      expect(notes).toHaveLength(1);
      expect(notes[0]).toContain("EACCES");
    });

    it("rejects a configured directory it cannot create, probing for real", async () => {
      const blocker = await writeConfigFile("not a directory", "blocker");
      const baseDir = join(blocker, "sessions");
      await expect(loadConfig({ argv: [`--session.base_dir=${baseDir}`], env: {}, cwd })).rejects.toEqual(
        configError({ key: "session.base_dir", value: baseDir, source: "cli" }),
      );
    });

    it("resolves a relative directory against cwd and creates it", async () => {
      const overrides = { session: { base_dir: "work/sessions" } };
      const { config } = await loadConfig({ argv: [], env: {}, cwd, overrides });
      expect(config.session.baseDir).toBe(join(cwd, "work", "sessions"));
    });
  });
});
