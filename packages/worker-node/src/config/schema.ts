import { hostname } from "node:os";
import { formatBytes } from "@opencode-worker/shared";
import { DEFAULT_COMMAND_ALLOWLIST } from "./default-allowlist.js";
import { closestName } from "./closest-name.js";
import { ConfigError } from "./config-error.js";
import type { WorkerConfig } from "./worker-config.js";

/**
 * The one table of configuration options: for every key of WorkerConfig, its kind, default, unit,
 * constraints and doc. Sources, validation, the compiled config and the README table all derive from it.
 */

/** A default is a value, or a function for one that depends on the host (shown as `shownDefault`). */
type Defaulted<T> = { default: T; shownDefault?: undefined } | { default: () => T; shownDefault: string };

interface NumberRules<Sibling extends string = string> {
  /** int: whole numbers; number: fractions too; bytes: "512MiB" or a count; duration: whole milliseconds. */
  kind: "int" | "number" | "bytes" | "duration";
  /** Inclusive bounds; no option here wants a negative value, so min defaults to 0. */
  min?: number;
  max?: number;
  /** For kinds whose unit is not implied (bytes and duration are bytes and ms). */
  unit?: string;
  /** A key of the same section this value may not exceed (a governance default and its maximum). */
  atMost?: Sibling;
}

/** What every option of any type looks like at run time. */
export type OptionSpec = { doc: string } & (
  | (Defaulted<boolean> & { kind: "bool" })
  | (Defaulted<number> & NumberRules)
  | (Defaulted<string[]> & { kind: "list" })
  | (Defaulted<string> & { kind: "string" })
  | (Defaulted<string> & { kind: "enum"; values: readonly string[] })
);

/** The spec a field of type T must have; the tuples stop unions (boolean, enums) from distributing. */
type SpecFor<T, Sibling extends string> = { doc: string } & Defaulted<T> &
  ([T] extends [boolean]
    ? { kind: "bool" }
    : [T] extends [number]
      ? NumberRules<Sibling>
      : [T] extends [string[]]
        ? { kind: "list" }
        : string extends T
          ? { kind: "string" }
          : { kind: "enum"; values: readonly T[] });

/** "maxConcurrentSessions" -> "max_concurrent_sessions". */
type SnakeCase<S extends string> = S extends `${infer Head}${infer Rest}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Rest>}`
  : S;

type SnakeKeys<Section> = SnakeCase<keyof Section & string>;

/**
 * Keyed by section and snake_case key, so a field missing from the table, an extra key, or a spec that
 * cannot produce the field's type (an enum missing `values`, a byte size on a boolean) fails to compile.
 */
type ConfigSchema = {
  [S in keyof WorkerConfig]: {
    [K in keyof WorkerConfig[S] & string as SnakeCase<K>]: SpecFor<WorkerConfig[S][K], SnakeKeys<WorkerConfig[S]>>;
  };
};

/** What a caller may pass for a key in the JSON file or `overrides`: the compiled type, or text to parse. */
export type WorkerConfigOverrides = {
  [S in keyof WorkerConfig]?: {
    [K in keyof WorkerConfig[S] & string as SnakeCase<K>]?: WorkerConfig[S][K] | string;
  };
};

// grpc-js keeps message sizes in signed 32-bit integers.
const MAX_GRPC_MESSAGE_BYTES = 2 ** 31 - 1;
// Node's timers take at most 2^31 - 1 ms (a longer one fires after 1 ms), and grpc-js reads that value as "never".
const MAX_TIMER_MS = 2 ** 31 - 2;

const CONFIG_SCHEMA: ConfigSchema = {
  worker: {
    id: {
      kind: "string",
      default: hostname,
      shownDefault: "the host name",
      doc: "Identity reported in metrics and results.",
    },
    concurrency: { kind: "int", min: 1, default: 4, doc: "Jobs that run at once." },
    // Per-caller caps only mean something with several identities (auth.token_file or mTLS); with none every job
    // is the one anonymous caller's, so a finite default would only lower the worker-wide caps.
    max_running_per_caller: {
      kind: "int",
      default: 0,
      doc: "Jobs of one caller (admins included) that run at once; its further jobs wait while other callers' start. 0: only worker.concurrency bounds them.",
    },
    max_queued_per_caller: {
      kind: "int",
      default: 0,
      doc: "Jobs of one caller (admins included) waiting to run; beyond it Dispatch is RESOURCE_EXHAUSTED. 0: only session.max_concurrent_sessions bounds them.",
    },
    shutdown_grace_ms: {
      kind: "duration",
      default: 30_000,
      doc: "On SIGTERM, how long running jobs may finish before they are cancelled.",
    },
  },
  session: {
    base_dir: {
      kind: "string",
      default: "/opt/opencode/sessions",
      doc: "Where session directories live, on a file system that stores files (not /proc, /sys or a cgroup tree) and answers within 5 s; if the default is not writable, a per-user directory is used.",
    },
    max_concurrent_sessions: {
      kind: "int",
      min: 1,
      // ListSessions lists them all in one answer, which must stay under gRPC's default 4 MiB.
      max: 10_000,
      default: 64,
      doc: "Running plus queued jobs (at most 10,000); beyond it Dispatch is RESOURCE_EXHAUSTED.",
    },
    result_ttl_ms: { kind: "duration", default: 600_000, doc: "How long a finished job's result stays collectable." },
    result_budget_bytes: {
      kind: "bytes",
      default: 256 * 1024 ** 2,
      doc: "Total bytes of retained results; the oldest are dropped first.",
    },
    max_files: { kind: "int", default: 1000, doc: "Input files per job." },
    max_files_bytes: { kind: "bytes", default: 64 * 1024 ** 2, doc: "Total bytes of input files per job." },
    max_artifacts: { kind: "int", default: 10_000, doc: "Artifacts collected per job." },
    max_artifact_bytes: { kind: "bytes", default: 64 * 1024 ** 2, doc: "Size of one artifact." },
    max_artifacts_total_bytes: { kind: "bytes", default: 256 * 1024 ** 2, doc: "Size of all artifacts of one job." },
    artifact_inline_bytes: {
      kind: "bytes",
      default: 64 * 1024,
      doc: "Artifacts up to this size travel inline in the result.",
    },
    result_output_bytes: {
      kind: "bytes",
      default: 8 * 1024 ** 2,
      doc: "Stdout and stderr bytes each kept in the result and for replay.",
    },
  },
  governance: {
    default_cpu: {
      kind: "number",
      min: 0.01,
      unit: "CPU",
      atMost: "max_cpu",
      default: 1,
      doc: "CPU cores a job gets when it asks for none.",
    },
    max_cpu: { kind: "number", min: 0.01, unit: "CPU", default: 2, doc: "CPU cores a job may ask for." },
    default_memory_bytes: {
      kind: "bytes",
      min: 1,
      atMost: "max_memory_bytes",
      default: 512 * 1024 ** 2,
      doc: "Memory a job gets when it asks for none.",
    },
    max_memory_bytes: { kind: "bytes", min: 1, default: 4 * 1024 ** 3, doc: "Memory a job may ask for." },
    default_timeout_ms: {
      kind: "duration",
      min: 1,
      atMost: "max_timeout_ms",
      default: 300_000,
      doc: "A job's lifetime when it sets none.",
    },
    max_timeout_ms: { kind: "duration", min: 1, default: 3_600_000, doc: "The longest lifetime a job may ask for." },
    default_idle_timeout_ms: {
      kind: "duration",
      atMost: "max_idle_timeout_ms",
      default: 0,
      doc: "How long a job may produce no output when it sets no idle timeout; 0 disables.",
    },
    max_idle_timeout_ms: { kind: "duration", default: 3_600_000, doc: "The longest idle timeout a job may ask for." },
    default_max_output_bytes: {
      kind: "bytes",
      atMost: "max_output_bytes",
      default: 16 * 1024 ** 2,
      doc: "Stdout plus stderr a job may write when it sets no limit.",
    },
    max_output_bytes: { kind: "bytes", default: 2 * 1024 ** 3, doc: "The largest output limit a job may ask for." },
    default_max_pids: {
      kind: "int",
      min: 1,
      atMost: "max_pids",
      default: 256,
      doc: "Processes a job may run when it sets no limit.",
    },
    max_pids: { kind: "int", min: 1, default: 4096, doc: "The largest process limit a job may ask for." },
    default_max_disk_bytes: {
      kind: "bytes",
      min: 1,
      atMost: "max_disk_bytes",
      default: 1024 ** 3,
      doc: "Disk a job may fill when it sets no limit.",
    },
    max_disk_bytes: {
      kind: "bytes",
      min: 1,
      default: 10 * 1024 ** 3,
      doc: "The largest disk limit a job may ask for.",
    },
    default_agent_memory_bytes: {
      kind: "bytes",
      min: 1,
      atMost: "max_memory_bytes",
      default: 1536 * 1024 ** 2,
      doc: "Memory an agent task (JobSpec.agent_task) gets when it asks for none: OpenCode alone peaks near 630 MiB.",
    },
    default_model_requests: {
      kind: "int",
      min: 1,
      atMost: "max_model_requests",
      default: 50,
      doc: "Model requests an agent task may make when it sets no limit.",
    },
    max_model_requests: { kind: "int", min: 1, default: 1000, doc: "The most model requests an agent task may ask for." },
    default_model_tokens: {
      kind: "int",
      min: 1,
      atMost: "max_model_tokens",
      default: 2_000_000,
      doc: "Model tokens (prompt plus answer) an agent task may use when it sets no limit.",
    },
    max_model_tokens: { kind: "int", min: 1, default: 100_000_000, doc: "The most model tokens an agent task may ask for." },
    command_allowlist: {
      kind: "list",
      default: () => [...DEFAULT_COMMAND_ALLOWLIST],
      shownDefault: `the ${DEFAULT_COMMAND_ALLOWLIST.length} built-in tools (config/default-allowlist.ts)`,
      doc: "Command words a job may use: comma-separated in the CLI and env, an array in the file.",
    },
    command_policy: {
      kind: "enum",
      values: ["enforce", "off"],
      default: "enforce",
      doc: '"enforce" denies commands outside the allowlist, "off" skips the guard.',
    },
  },
  security: {
    min_isolation: {
      kind: "enum",
      values: ["sandbox", "reduced", "none"],
      default: "sandbox",
      doc: "Below this isolation the worker is NOT_SERVING and refuses jobs.",
    },
    trusted_jobs: { kind: "bool", default: false, doc: "Allow the unsandboxed process driver." },
    allow_open_network: { kind: "bool", default: false, doc: "Honour network OPEN in a job's config." },
    sandbox_uid_base: {
      kind: "int",
      // Below 1000 are system accounts on most distributions; a job must never share a uid with a service.
      // Many tools still treat uids as signed 32-bit, and the per-slot uids sit above the base.
      min: 1000,
      max: 2 ** 31 - 1,
      default: 200_000,
      doc: "First of the per-slot uids/gids jobs run as.",
    },
    driver: {
      kind: "enum",
      values: ["auto", "bwrap", "process"],
      default: "auto",
      doc: '"auto" picks bwrap when its probe passes, else process when jobs are trusted.',
    },
    bwrap_path: { kind: "string", default: "bwrap", doc: "The bubblewrap binary." },
    slirp4netns_path: {
      kind: "string",
      default: "slirp4netns",
      doc: "Connects a network OPEN job's own namespace to the outside world; without it OPEN is refused.",
    },
  },
  grpc: {
    host: { kind: "string", default: "127.0.0.1", doc: "The address the server listens on." },
    port: { kind: "int", max: 65_535, default: 50_051, doc: "The port the server listens on; 0 picks a free port." },
    max_receive_message_bytes: {
      kind: "bytes",
      min: 1,
      max: MAX_GRPC_MESSAGE_BYTES,
      default: 128 * 1024 ** 2,
      doc: "The largest message the server accepts.",
    },
    max_send_message_bytes: {
      kind: "bytes",
      min: 1,
      max: MAX_GRPC_MESSAGE_BYTES,
      default: 128 * 1024 ** 2,
      doc: "The largest message the server sends.",
    },
    max_concurrent_streams: { kind: "int", min: 1, default: 1000, doc: "Concurrent streams per connection." },
    keepalive_time_ms: {
      kind: "duration",
      min: 1,
      default: 30_000,
      doc: "The server pings an idle connection this often.",
    },
    keepalive_timeout_ms: {
      kind: "duration",
      min: 1,
      default: 10_000,
      doc: "And drops it when a ping is not answered in time.",
    },
    max_connections: {
      kind: "int",
      min: 1,
      default: 256,
      doc: "Open client connections; a connection beyond it is closed as soon as it is accepted.",
    },
    max_connection_idle_ms: {
      kind: "duration",
      max: MAX_TIMER_MS,
      default: 1_800_000,
      doc: "A connection with no call for this long is closed (GOAWAY; clients reconnect on their next call); 0 disables.",
    },
    max_connection_age_ms: {
      kind: "duration",
      max: MAX_TIMER_MS,
      default: 0,
      doc: "A connection older than this (plus or minus 10%) takes no new calls (GOAWAY), so clients spread over workers behind a balancer; 0 disables.",
    },
    max_connection_age_grace_ms: {
      kind: "duration",
      max: MAX_TIMER_MS,
      default: 3_600_000,
      doc: "After grpc.max_connection_age_ms, how long the calls still running on the connection may take before it is cut.",
    },
    min_ping_interval_ms: {
      kind: "duration",
      max: MAX_TIMER_MS,
      default: 5000,
      doc: "A client PING sooner than this after its previous one is a strike; the third strike in a row gets GOAWAY ENHANCE_YOUR_CALM and the connection closes; 0 disables.",
    },
    stream_keepalive_ms: {
      kind: "duration",
      min: 1,
      default: 15_000,
      doc: "A StreamJob with no event for this long gets a keepalive event.",
    },
    stalled_reader_timeout_ms: {
      kind: "duration",
      min: 1,
      default: 10_000,
      doc: "A StreamJob reader that takes no message for this long while the job writes is cut (UNAVAILABLE, resumable with after_seq), so it holds the job no longer.",
    },
    insecure: {
      kind: "bool",
      default: false,
      doc: "Listen on a non-loopback grpc.host without TLS and authentication (a warning at every start); otherwise such a start is refused.",
    },
  },
  tls: {
    cert_file: { kind: "string", default: "", doc: "PEM certificate chain the server presents; with tls.key_file it turns TLS on." },
    key_file: { kind: "string", default: "", doc: "PEM private key of tls.cert_file." },
    client_ca_file: {
      kind: "string",
      default: "",
      doc: "PEM CA bundle: clients must present a certificate it signed (mTLS), whose subject CN is the caller's identity.",
    },
  },
  auth: {
    token_file: {
      kind: "string",
      default: "",
      doc: "File of `<identity> sha256:<hex>` lines: every WorkerService call must carry `authorization: Bearer <token>` of one; re-read on change and on SIGHUP.",
    },
    admins: {
      kind: "list",
      default: [],
      doc: "Identities that see and cancel every caller's jobs; others see only the jobs they dispatched.",
    },
  },
  logging: {
    level: {
      kind: "enum",
      values: ["trace", "debug", "info", "warn", "error", "fatal", "silent"],
      default: "info",
      doc: "The least severe level written.",
    },
    pretty: {
      kind: "bool",
      default: () => process.stdout.isTTY === true,
      shownDefault: "true when stdout is a terminal",
      doc: "Human-readable lines instead of JSON.",
    },
  },
  metrics: {
    enabled: { kind: "bool", default: true, doc: "Serve Prometheus metrics over HTTP at `/metrics`." },
    host: {
      kind: "string",
      default: "127.0.0.1",
      doc: "The address the metrics server listens on; loopback unless a scraper on another host needs it.",
    },
    port: { kind: "int", max: 65_535, default: 9464, doc: "The port the metrics server listens on; 0 picks a free port." },
  },
  tracing: {
    exporter: {
      kind: "enum",
      values: ["none", "otlp"],
      default: "none",
      doc: "`otlp` sends a span per job, with its phases as child spans, to `tracing.endpoint`; `none` makes no spans at all.",
    },
    endpoint: {
      kind: "string",
      default: "http://127.0.0.1:4318/v1/traces",
      doc: "The OTLP/HTTP (JSON) traces URL of a collector, used with `tracing.exporter=otlp`.",
    },
    service_name: { kind: "string", default: "opencode-worker", doc: "The `service.name` the worker's spans carry." },
  },
  workspace: {
    max_entries: { kind: "int", min: 1, default: 50_000, doc: "Entries (files and links) of one job's workspace manifest." },
    max_bytes: { kind: "bytes", min: 1, default: 2 * 1024 ** 3, doc: "Content bytes of one job's workspace manifest." },
    inline_bytes: {
      kind: "bytes",
      default: 64 * 1024,
      doc: "Changed workspace files up to this size travel inline in the result (as far as it has room); larger ones are read with ReadBlob.",
    },
    max_changes: {
      kind: "int",
      min: 1,
      default: 10_000,
      doc: "Workspace changes one result lists; beyond it the list is marked truncated.",
    },
    max_change_bytes: {
      kind: "bytes",
      default: 1024 ** 3,
      doc: "Bytes of changed workspace files one job may store in the blob store; beyond it the list is marked truncated.",
    },
  },
  agent: {
    enabled: {
      kind: "bool",
      default: true,
      doc: "Accept agent tasks (JobSpec.agent_task), when OpenCode is installed at `agent.opencode_dir`.",
    },
    opencode_dir: {
      kind: "string",
      default: "/opt/opencode/base",
      doc: "The OpenCode installation agent tasks run (npm package opencode-ai, as scripts/setup.sh installs it), bound read-only into their sandboxes.",
    },
    providers_file: {
      kind: "string",
      default: "",
      doc: "JSON file naming the model providers agent tasks may use (api, base_url, models, and the key's source: api_key_file 0600 or api_key_env); see the README. Empty: no providers.",
    },
  },
  blobs: {
    max_bytes: {
      kind: "bytes",
      // Room for a few manifests' worth of source files at the least; below that every upload would evict.
      min: 16 * 1024 ** 2,
      default: 4 * 1024 ** 3,
      doc: "Bytes of the blob store (workspace contents of all callers, under `session.base_dir`/blobs); the least recently used blobs not in use are evicted to make room.",
    },
  },
};

export type SectionName = keyof WorkerConfig;

/** One row of the table, with the names each source and the compiled config use for it. */
export interface ConfigOption {
  section: SectionName;
  /** snake_case, as in the file: "shutdown_grace_ms". */
  key: string;
  /** "worker.shutdown_grace_ms", as on the command line and in errors. */
  name: string;
  /** camelCase, as in WorkerConfig: "shutdownGraceMs". */
  field: string;
  /** "OPENCODE_WORKER_WORKER_SHUTDOWN_GRACE_MS". */
  env: string;
  spec: OptionSpec;
}

const SECTIONS: Record<SectionName, Record<string, OptionSpec>> = CONFIG_SCHEMA;

/** Every option, section by section in the table's order. */
export const CONFIG_OPTIONS: readonly ConfigOption[] = Object.entries(SECTIONS).flatMap(([section, specs]) =>
  Object.entries(specs).map(([key, spec]) => ({
    section: section as SectionName,
    key,
    name: `${section}.${key}`,
    field: key.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase()),
    env: `OPENCODE_WORKER_${section}_${key}`.toUpperCase(),
    spec,
  })),
);

const OPTIONS_BY_NAME = new Map(CONFIG_OPTIONS.map((option) => [option.name, option]));

/**
 * The option a source names ("worker.concurrency"); throws a ConfigError when there is none, suggesting
 * a close name or the same key in another section.
 */
export function findOption(name: string, value: unknown, source: string): ConfigOption {
  const option = OPTIONS_BY_NAME.get(name);
  if (option) return option;
  const dot = name.indexOf(".");
  const section = dot === -1 ? name : name.slice(0, dot);
  const key = dot === -1 ? "" : name.slice(dot + 1);
  const suggestion = closestName(name, OPTIONS_BY_NAME.keys()) ?? CONFIG_OPTIONS.find((other) => other.key === key)?.name;
  const problem = Object.hasOwn(SECTIONS, section) ? "unknown key" : "unknown section";
  throw new ConfigError(name, value, source, `${problem}${didYouMean(suggestion)}`);
}

/** Throws a ConfigError unless `section` names a section (an empty unknown section is still a mistake). */
export function assertSection(section: string, value: unknown, source: string): void {
  if (Object.hasOwn(SECTIONS, section)) return;
  const suggestion = closestName(section, Object.keys(SECTIONS));
  throw new ConfigError(section, value, source, `unknown section${didYouMean(suggestion)}`);
}

function didYouMean(suggestion: string | undefined): string {
  return suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`;
}

/** The value an option takes when no source sets it. */
export function defaultValue(spec: OptionSpec): unknown {
  return typeof spec.default === "function" ? spec.default() : spec.default;
}

/** The rows of the README's configuration table, in the table's order. */
export function describeConfig(): Array<{ key: string; env: string; default: string; doc: string }> {
  return CONFIG_OPTIONS.map((option) => ({
    key: option.name,
    env: option.env,
    default: describeDefault(option.spec),
    doc: option.spec.doc,
  }));
}

function describeDefault(spec: OptionSpec): string {
  if (spec.shownDefault !== undefined) return spec.shownDefault;
  switch (spec.kind) {
    case "bytes":
      return formatBytes(spec.default);
    case "duration":
      return `${spec.default} ms`;
    case "int":
    case "number":
      return spec.unit === undefined ? String(spec.default) : `${spec.default} ${spec.unit}`;
    case "list":
      return spec.default.join(",");
    default:
      return String(spec.default);
  }
}
