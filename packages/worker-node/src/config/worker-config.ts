/**
 * The worker's compiled configuration: every default applied, every value validated.
 * Sources (CLI `--section.key=value`, env `OPENCODE_WORKER_SECTION_KEY`, `opencode-worker.json`,
 * defaults) use the snake_case names given in each comment; see schema.ts for defaults and units.
 */
export interface WorkerConfig {
  worker: {
    /** worker.id: identity reported in metrics and results. @default hostname */
    id: string;
    /** worker.concurrency: jobs that run at once. @default 4 */
    concurrency: number;
    /** worker.max_running_per_caller: jobs of one caller that run at once; 0: only worker.concurrency. @default 0 */
    maxRunningPerCaller: number;
    /** worker.max_queued_per_caller: jobs of one caller waiting; beyond it Dispatch is RESOURCE_EXHAUSTED; 0: no own cap. @default 0 */
    maxQueuedPerCaller: number;
    /** worker.shutdown_grace_ms: on SIGTERM, how long running jobs may finish before they are cancelled. @default 30000 */
    shutdownGraceMs: number;
  };
  session: {
    /** session.base_dir: where session directories live. @default /opt/opencode/sessions */
    baseDir: string;
    /** session.max_concurrent_sessions: running plus queued jobs; beyond it Dispatch is RESOURCE_EXHAUSTED. @default 64 */
    maxConcurrentSessions: number;
    /** session.result_ttl_ms: how long a finished job's result stays collectable. @default 600000 */
    resultTtlMs: number;
    /** session.result_budget_bytes: total bytes of retained results; the oldest are dropped first. @default 268435456 */
    resultBudgetBytes: number;
    /** session.max_files: input files per job. @default 1000 */
    maxFiles: number;
    /** session.max_files_bytes: total bytes of input files per job. @default 67108864 */
    maxFilesBytes: number;
    /** session.max_artifacts: artifacts collected per job. @default 10000 */
    maxArtifacts: number;
    /** session.max_artifact_bytes: size of one artifact. @default 67108864 */
    maxArtifactBytes: number;
    /** session.max_artifacts_total_bytes: size of all artifacts of one job. @default 268435456 */
    maxArtifactsTotalBytes: number;
    /** session.artifact_inline_bytes: artifacts up to this size travel inline in the result. @default 65536 */
    artifactInlineBytes: number;
    /** session.result_output_bytes: stdout and stderr bytes each kept in the result and for replay. @default 8388608 */
    resultOutputBytes: number;
  };
  /** Per-job limits: the default applied when a job leaves a limit unset, and the maximum it may ask for. */
  governance: {
    /** governance.default_cpu / max_cpu: cores. @default 1 / 2 */
    defaultCpu: number;
    maxCpu: number;
    /** governance.default_memory_bytes / max_memory_bytes. @default 536870912 / 4294967296 */
    defaultMemoryBytes: number;
    maxMemoryBytes: number;
    /** governance.default_timeout_ms / max_timeout_ms. @default 300000 / 3600000 */
    defaultTimeoutMs: number;
    maxTimeoutMs: number;
    /** governance.default_idle_timeout_ms / max_idle_timeout_ms; 0 disables. @default 0 / 3600000 */
    defaultIdleTimeoutMs: number;
    maxIdleTimeoutMs: number;
    /** governance.default_max_output_bytes / max_output_bytes: stdout+stderr. @default 16777216 / 2147483648 */
    defaultMaxOutputBytes: number;
    maxOutputBytes: number;
    /** governance.default_max_pids / max_pids. @default 256 / 4096 */
    defaultMaxPids: number;
    maxPids: number;
    /** governance.default_max_disk_bytes / max_disk_bytes. @default 1073741824 / 10737418240 */
    defaultMaxDiskBytes: number;
    maxDiskBytes: number;
    /** governance.default_agent_memory_bytes: an agent task's memory when it asks for none (OpenCode peaks near 630 MiB). @default 1610612736 */
    defaultAgentMemoryBytes: number;
    /** governance.default_model_requests / max_model_requests: an agent task's model requests. @default 50 / 1000 */
    defaultModelRequests: number;
    maxModelRequests: number;
    /** governance.default_model_tokens / max_model_tokens: an agent task's model tokens. @default 2000000 / 100000000 */
    defaultModelTokens: number;
    maxModelTokens: number;
    /** governance.command_allowlist: command words a job may use. @default the built-in list (about 60 tools) */
    commandAllowlist: string[];
    /** governance.command_policy: "enforce" denies, "off" skips the guard. @default enforce */
    commandPolicy: "enforce" | "off";
  };
  security: {
    /** security.min_isolation: below this the worker is NOT_SERVING and refuses jobs. @default sandbox */
    minIsolation: IsolationMode;
    /** security.trusted_jobs: allow the unsandboxed process driver. @default false */
    trustedJobs: boolean;
    /** security.allow_open_network: honour network OPEN in a job's config. @default false */
    allowOpenNetwork: boolean;
    /** security.sandbox_uid_base: first of the per-slot uids/gids jobs run as. @default 200000 */
    sandboxUidBase: number;
    /** security.driver: "auto" picks bwrap when the probe passes, else process when trusted. @default auto */
    driver: "auto" | "bwrap" | "process";
    /** security.bwrap_path: the bubblewrap binary. @default bwrap */
    bwrapPath: string;
    /** security.slirp4netns_path: connects network OPEN jobs to the outside world; without it OPEN is refused. @default slirp4netns */
    slirp4netnsPath: string;
  };
  grpc: {
    /** grpc.host. @default 127.0.0.1 */
    host: string;
    /** grpc.port; 0 picks a free port. @default 50051 */
    port: number;
    /** grpc.max_receive_message_bytes. @default 134217728 */
    maxReceiveMessageBytes: number;
    /** grpc.max_send_message_bytes. @default 134217728 */
    maxSendMessageBytes: number;
    /** grpc.max_concurrent_streams per connection. @default 1000 */
    maxConcurrentStreams: number;
    /** grpc.keepalive_time_ms: server pings an idle connection this often. @default 30000 */
    keepaliveTimeMs: number;
    /** grpc.keepalive_timeout_ms: and drops it when a ping is not answered in time. @default 10000 */
    keepaliveTimeoutMs: number;
    /** grpc.max_connections: open client connections; one beyond it is closed when accepted. @default 256 */
    maxConnections: number;
    /** grpc.max_connection_idle_ms: a connection with no call for this long gets GOAWAY; 0 disables. @default 1800000 */
    maxConnectionIdleMs: number;
    /** grpc.max_connection_age_ms: a connection this old takes no new calls (GOAWAY); 0 disables. @default 0 */
    maxConnectionAgeMs: number;
    /** grpc.max_connection_age_grace_ms: how long calls running at the age may still take. @default 3600000 */
    maxConnectionAgeGraceMs: number;
    /** grpc.min_ping_interval_ms: the third PING in a row sooner than this gets GOAWAY ENHANCE_YOUR_CALM; 0 disables. @default 5000 */
    minPingIntervalMs: number;
    /** grpc.stream_keepalive_ms: a StreamJob with no event for this long gets a keepalive event. @default 15000 */
    streamKeepaliveMs: number;
    /** grpc.stalled_reader_timeout_ms: a StreamJob reader that takes nothing for this long while the job writes is cut. @default 10000 */
    stalledReaderTimeoutMs: number;
    /** grpc.insecure: allow a non-loopback host without TLS and authentication. @default false */
    insecure: boolean;
  };
  /** TLS is on when cert_file and key_file are set; an empty path means unset. */
  tls: {
    /** tls.cert_file: PEM certificate chain the server presents. @default "" */
    certFile: string;
    /** tls.key_file: PEM private key of cert_file. @default "" */
    keyFile: string;
    /** tls.client_ca_file: PEM CA bundle; set, every client must present a certificate it signed (mTLS). @default "" */
    clientCaFile: string;
  };
  auth: {
    /** auth.token_file: `<identity> sha256:<hex>` lines; set, every WorkerService call needs a bearer token. @default "" */
    tokenFile: string;
    /** auth.admins: identities that see and cancel every caller's jobs. @default [] */
    admins: string[];
  };
  logging: {
    /** logging.level: trace, debug, info, warn, error, fatal, silent. @default info */
    level: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
    /** logging.pretty: human-readable lines instead of JSON. @default true when stdout is a terminal */
    pretty: boolean;
  };
  /** Prometheus metrics over HTTP, apart from the gRPC port so a scraper needs no gRPC and no credentials. */
  metrics: {
    /** metrics.enabled: serve `/metrics`. @default true */
    enabled: boolean;
    /** metrics.host. @default 127.0.0.1 */
    host: string;
    /** metrics.port; 0 picks a free port. @default 9464 */
    port: number;
  };
  /** OpenTelemetry spans of jobs, continuing the caller's W3C trace context. */
  tracing: {
    /** tracing.exporter: `otlp` exports a span per job and per phase; `none` makes none. @default none */
    exporter: "none" | "otlp";
    /** tracing.endpoint: the collector's OTLP/HTTP traces URL. @default http://127.0.0.1:4318/v1/traces */
    endpoint: string;
    /** tracing.service_name: the spans' `service.name`. @default opencode-worker */
    serviceName: string;
  };
  /** A job's content-addressed workspace (JobSpec.workspace) and the changes that come back. */
  workspace: {
    /** workspace.max_entries: entries of one manifest. @default 50000 */
    maxEntries: number;
    /** workspace.max_bytes: content bytes of one manifest. @default 2147483648 */
    maxBytes: number;
    /** workspace.inline_bytes: changed files up to this size travel inline in the result. @default 65536 */
    inlineBytes: number;
    /** workspace.max_changes: changes one result lists. @default 10000 */
    maxChanges: number;
    /** workspace.max_change_bytes: bytes of changed files stored for one result. @default 1073741824 */
    maxChangeBytes: number;
  };
  /** Agent tasks (JobSpec.agent_task): OpenCode run inside the sandbox, its model reached through the worker's gateway. */
  agent: {
    /** agent.enabled: accept agent tasks. @default true */
    enabled: boolean;
    /** agent.opencode_dir: the OpenCode installation (npm package opencode-ai), bound read-only into agent sandboxes. @default /opt/opencode/base */
    opencodeDir: string;
    /** agent.providers_file: JSON file of the model providers agents may use, with their keys' sources. @default "" */
    providersFile: string;
  };
  /** The content-addressed blob store workspaces are built from, under session.base_dir (FindMissingBlobs, UploadBlobs, ReadBlob). */
  blobs: {
    /** blobs.max_bytes: all blobs of all callers; the least recently used are evicted to make room. @default 4294967296 */
    maxBytes: number;
  };
}

/** How strongly jobs are isolated, strongest first. */
export type IsolationMode = "sandbox" | "reduced" | "none";
