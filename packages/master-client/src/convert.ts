/**
 * The one place where SDK types meet the generated wire types, both ways, with the enum tables.
 * Friendly input is validated on the way out (errors name the field and the value); wire values
 * are read on the way in, with enum values this SDK version does not know mapped to "unknown".
 */
import * as wire from "@opencode-worker/shared";
import { InternalError, InvalidArgumentError } from "./errors.js";
import { withSdkFieldNames } from "./field-names.js";
import type { JobAgentStepEvent, JobEvent } from "./job-event.js";
import type { AgentOutcome, JobPhase, JobResult, JobState, TerminationReason, WorkspaceChange, WorkspaceChanges } from "./job-result.js";
import type { JobSpec, NetworkAccess } from "./job-spec.js";
import type { CancelOutcome, JobStatus, ResourceUsage, SessionInfo } from "./job-status.js";
import type { LatencySummary, WorkerMetrics } from "./worker-metrics.js";
import { type BlobDigest, readBlobDigest } from "./workspace/blob-digest.js";
import {
  invalid,
  readBoolean,
  readByteSize,
  readBytes,
  readJobId,
  readNonEmptyString,
  readNonNegativeInteger,
  readObject,
  readOneOf,
  readPositiveInteger,
  readPositiveNumber,
  readRecord,
  readString,
  readStringArray,
} from "./validate.js";

// Enum tables. Keyed by every generated value, so a value added to the proto fails to compile here
// until it is given a name; UNSPECIFIED and UNRECOGNIZED say "unknown" rather than guess.

const JOB_STATES: Record<wire.JobState, JobState> = {
  [wire.JobState.JOB_STATE_UNSPECIFIED]: "unknown",
  [wire.JobState.JOB_STATE_QUEUED]: "queued",
  [wire.JobState.JOB_STATE_PREPARING]: "preparing",
  [wire.JobState.JOB_STATE_RUNNING]: "running",
  [wire.JobState.JOB_STATE_COLLECTING]: "collecting",
  [wire.JobState.JOB_STATE_FINISHED]: "finished",
  [wire.JobState.JOB_STATE_FAILED]: "failed",
  [wire.JobState.JOB_STATE_TIMED_OUT]: "timed_out",
  [wire.JobState.JOB_STATE_CANCELLED]: "cancelled",
  [wire.JobState.UNRECOGNIZED]: "unknown",
};

const FINAL_STATES: ReadonlySet<JobState> = new Set(["finished", "failed", "timed_out", "cancelled"]);

const PHASES: Record<wire.Phase, JobPhase> = {
  [wire.Phase.PHASE_UNSPECIFIED]: "unknown",
  [wire.Phase.PHASE_INIT]: "init",
  [wire.Phase.PHASE_PREPARE]: "prepare",
  [wire.Phase.PHASE_EXECUTE]: "execute",
  [wire.Phase.PHASE_COLLECT]: "collect",
  [wire.Phase.PHASE_DESTROY]: "destroy",
  [wire.Phase.UNRECOGNIZED]: "unknown",
};

const REASONS: Record<wire.TerminationReason, TerminationReason> = {
  [wire.TerminationReason.TERMINATION_REASON_UNSPECIFIED]: "unknown",
  [wire.TerminationReason.TERMINATION_REASON_EXITED]: "exited",
  [wire.TerminationReason.TERMINATION_REASON_SIGNALED]: "signaled",
  [wire.TerminationReason.TERMINATION_REASON_TIMEOUT]: "timeout",
  [wire.TerminationReason.TERMINATION_REASON_IDLE_TIMEOUT]: "idle_timeout",
  [wire.TerminationReason.TERMINATION_REASON_MEMORY_LIMIT]: "memory_limit",
  [wire.TerminationReason.TERMINATION_REASON_OUTPUT_LIMIT]: "output_limit",
  [wire.TerminationReason.TERMINATION_REASON_PIDS_LIMIT]: "pids_limit",
  [wire.TerminationReason.TERMINATION_REASON_DISK_LIMIT]: "disk_limit",
  [wire.TerminationReason.TERMINATION_REASON_CANCELLED]: "cancelled",
  [wire.TerminationReason.TERMINATION_REASON_POLICY_DENIED]: "policy_denied",
  [wire.TerminationReason.TERMINATION_REASON_WORKER_ERROR]: "worker_error",
  [wire.TerminationReason.TERMINATION_REASON_MODEL_BUDGET]: "model_budget",
  [wire.TerminationReason.UNRECOGNIZED]: "unknown",
};

const OUTPUT_STREAMS: Record<wire.OutputStream, "stdout" | "stderr" | undefined> = {
  [wire.OutputStream.OUTPUT_STREAM_UNSPECIFIED]: undefined,
  [wire.OutputStream.OUTPUT_STREAM_STDOUT]: "stdout",
  [wire.OutputStream.OUTPUT_STREAM_STDERR]: "stderr",
  [wire.OutputStream.UNRECOGNIZED]: undefined,
};

const CHANGE_KINDS: Record<wire.ChangeKind, WorkspaceChange["kind"] | undefined> = {
  [wire.ChangeKind.CHANGE_KIND_UNSPECIFIED]: undefined,
  [wire.ChangeKind.CHANGE_KIND_ADDED]: "added",
  [wire.ChangeKind.CHANGE_KIND_MODIFIED]: "modified",
  [wire.ChangeKind.CHANGE_KIND_DELETED]: "deleted",
  [wire.ChangeKind.UNRECOGNIZED]: undefined,
};

const ENTRY_TYPES: Record<wire.EntryType, WorkspaceChange["type"]> = {
  [wire.EntryType.ENTRY_TYPE_UNSPECIFIED]: "none",
  [wire.EntryType.ENTRY_TYPE_FILE]: "file",
  [wire.EntryType.ENTRY_TYPE_SYMLINK]: "symlink",
  // A type this SDK does not know is never created locally, like a FIFO.
  [wire.EntryType.ENTRY_TYPE_SPECIAL]: "special",
  [wire.EntryType.UNRECOGNIZED]: "special",
};

const AGENT_STEP_KINDS: Record<wire.AgentStepKind, JobAgentStepEvent["kind"]> = {
  [wire.AgentStepKind.AGENT_STEP_KIND_UNSPECIFIED]: "unknown",
  [wire.AgentStepKind.AGENT_STEP_KIND_STEP_STARTED]: "step_started",
  [wire.AgentStepKind.AGENT_STEP_KIND_TOOL]: "tool",
  [wire.AgentStepKind.AGENT_STEP_KIND_TEXT]: "text",
  [wire.AgentStepKind.AGENT_STEP_KIND_STEP_FINISHED]: "step_finished",
  [wire.AgentStepKind.AGENT_STEP_KIND_ERROR]: "error",
  [wire.AgentStepKind.UNRECOGNIZED]: "unknown",
};

const NETWORK_POLICIES: Record<NetworkAccess, wire.NetworkPolicy> = {
  restricted: wire.NetworkPolicy.NETWORK_POLICY_RESTRICTED,
  open: wire.NetworkPolicy.NETWORK_POLICY_OPEN,
};

// Decoded enums are plain numbers, so a newer worker can send one outside the table.
const jobState = (value: wire.JobState): JobState => JOB_STATES[value] ?? "unknown";
const jobPhase = (value: wire.Phase): JobPhase => PHASES[value] ?? "unknown";
const terminationReason = (value: wire.TerminationReason): TerminationReason => REASONS[value] ?? "unknown";

// ---- SDK -> wire ----

const SPEC_KEYS = [
  "jobId",
  "command",
  "argv",
  "agentTask",
  "files",
  "env",
  "cwd",
  "stdin",
  "limits",
  "network",
  "config",
  "artifacts",
  "workspace",
] as const;
const LIMIT_KEYS = [
  "cpu",
  "memory",
  "timeoutMs",
  "maxOutput",
  "maxPids",
  "maxDisk",
  "idleTimeoutMs",
  "modelMaxRequests",
  "modelMaxTokens",
] as const;
const AGENT_TASK_KEYS = ["prompt", "model", "agent", "instructions"] as const;
const CONFIG_KEYS = ["mode", "provider", "model", "telemetry"] as const;
const MAX_UINT32 = 0xffff_ffff;

/**
 * Validates a friendly spec and builds the wire spec. The job id is resolved here, once, so every
 * attempt of a retried Dispatch carries the same one.
 */
export function toWireSpec(input: JobSpec, generateJobId: () => string): wire.JobSpec {
  const spec = readObject("spec", input, SPEC_KEYS, "");
  const files = toWireFiles(spec.files);
  const network = spec.network === undefined ? undefined : readOneOf("network", spec.network, ["restricted", "open"]);
  return {
    jobId: spec.jobId === undefined ? generateJobId() : readJobId("jobId", spec.jobId),
    ...toWireWork(spec.command, spec.argv, spec.agentTask),
    files: files.contents,
    fileModes: files.modes,
    env: new Map(
      Object.entries(spec.env === undefined ? {} : readRecord("env", spec.env)).map(
        ([name, value]) => [name, readString(`env.${name}`, value)] as const,
      ),
    ),
    cwd: spec.cwd === undefined ? "" : readString("cwd", spec.cwd),
    stdin: spec.stdin === undefined ? Buffer.alloc(0) : readBytes("stdin", spec.stdin),
    limits: spec.limits === undefined ? undefined : toWireLimits(spec.limits),
    config: spec.config === undefined && network === undefined ? undefined : toWireConfig(spec.config, network),
    artifacts: spec.artifacts === undefined ? [] : readStringArray("artifacts", spec.artifacts),
    workspace: spec.workspace === undefined ? undefined : toWireWorkspace(spec.workspace),
  };
}

function toWireWorkspace(input: unknown): wire.Workspace {
  const workspace = readObject("workspace", input, ["entries", "remoteOnly"]);
  if (!Array.isArray(workspace.entries)) throw invalid("workspace.entries", "an array of entries", workspace.entries);
  return {
    entries: workspace.entries.map((entry: unknown, index) => toWireEntry(`workspace.entries[${index}]`, entry)),
    remoteOnly: workspace.remoteOnly === undefined ? [] : readStringArray("workspace.remoteOnly", workspace.remoteOnly),
  };
}

function toWireEntry(field: string, input: unknown): wire.WorkspaceEntry {
  if ("symlinkTarget" in readRecord(field, input)) {
    const link = readObject(field, input, ["path", "symlinkTarget"]);
    return {
      path: readNonEmptyString(`${field}.path`, link.path),
      digest: undefined,
      mode: 0,
      symlinkTarget: readNonEmptyString(`${field}.symlinkTarget`, link.symlinkTarget),
    };
  }
  const file = readObject(field, input, ["path", "sha256", "size", "mode"]);
  return {
    path: readNonEmptyString(`${field}.path`, file.path),
    digest: toWireDigest(readBlobDigest(field, { sha256: file.sha256, size: file.size })),
    mode: readFileMode(`${field}.mode`, file.mode),
    symlinkTarget: "",
  };
}

export function toWireDigest(digest: BlobDigest): wire.BlobDigest {
  return { sha256: digest.sha256, sizeBytes: String(digest.size) };
}

export function fromWireDigest(digest: wire.BlobDigest): BlobDigest {
  return { sha256: digest.sha256, size: Number(digest.sizeBytes) };
}

/** What the job runs: exactly one of a shell line, a program with its arguments, and an agent task. */
function toWireWork(command: unknown, argv: unknown, agentTask: unknown): Pick<wire.JobSpec, "command" | "argv" | "agentTask"> {
  const set = [command, argv, agentTask].filter((value) => value !== undefined).length;
  if (set !== 1) {
    throw new InvalidArgumentError(
      `command: set exactly one of \`command\` (a shell line), \`argv\` (a program and its arguments) and ` +
        `\`agentTask\` (a task for an OpenCode agent), got ${set === 0 ? "none" : set === 2 ? "two" : "all three"}`,
      { field: "command" },
    );
  }
  if (agentTask !== undefined) return { command: "", argv: [], agentTask: toWireAgentTask(agentTask) };
  if (command !== undefined) return { command: readNonEmptyString("command", command), argv: [] };
  const args = readStringArray("argv", argv);
  if (args.length === 0 || args[0] === "") throw invalid("argv", "a program followed by its arguments", argv);
  return { command: "", argv: args };
}

function toWireAgentTask(input: unknown): wire.AgentTask {
  const task = readObject("agentTask", input, AGENT_TASK_KEYS);
  const model = task.model === undefined ? "" : readString("agentTask.model", task.model);
  // The worker knows which providers it serves; the shape is checked here so a typo costs no round trip.
  if (model !== "" && !/^[^/\s]+\/\S+$/.test(model)) throw invalid("agentTask.model", '"provider/model"', model);
  return {
    prompt: readNonEmptyString("agentTask.prompt", task.prompt),
    model,
    agent: task.agent === undefined ? "" : readString("agentTask.agent", task.agent),
    instructions: task.instructions === undefined ? "" : readString("agentTask.instructions", task.instructions),
  };
}

function toWireFiles(files: unknown): { contents: Map<string, Buffer>; modes: Map<string, number> } {
  const contents = new Map<string, Buffer>();
  const modes = new Map<string, number>();
  for (const [path, file] of Object.entries(files === undefined ? {} : readRecord("files", files))) {
    const field = `files[${JSON.stringify(path)}]`;
    if (path === "") throw invalid("files", "relative paths as keys", "");
    if (typeof file === "string" || file instanceof Uint8Array) {
      contents.set(path, readBytes(field, file));
      continue;
    }
    const entry = readObject(field, file, ["content", "mode"]);
    contents.set(path, readBytes(`${field}.content`, entry.content));
    if (entry.mode !== undefined) modes.set(path, readFileMode(`${field}.mode`, entry.mode));
  }
  return { contents, modes };
}

function readFileMode(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0o7777) {
    throw invalid(field, "permission bits like 0o755", value);
  }
  return value;
}

function toWireLimits(input: unknown): wire.JobLimits {
  const limits = readObject("limits", input, LIMIT_KEYS);
  const maxPids = limits.maxPids === undefined ? undefined : readPositiveInteger("limits.maxPids", limits.maxPids);
  if (maxPids !== undefined && maxPids > MAX_UINT32) throw invalid("limits.maxPids", "at most 4294967295", maxPids);
  const modelMaxRequests =
    limits.modelMaxRequests === undefined ? undefined : readPositiveInteger("limits.modelMaxRequests", limits.modelMaxRequests);
  if (modelMaxRequests !== undefined && modelMaxRequests > MAX_UINT32) {
    throw invalid("limits.modelMaxRequests", "at most 4294967295", modelMaxRequests);
  }
  return {
    cpu: limits.cpu === undefined ? undefined : readPositiveNumber("limits.cpu", limits.cpu),
    // The wire's 64-bit request fields are decimal strings (jstype JS_STRING in the proto).
    memoryBytes: limits.memory === undefined ? undefined : String(readByteSize("limits.memory", limits.memory)),
    timeoutMs: limits.timeoutMs === undefined ? undefined : String(readPositiveInteger("limits.timeoutMs", limits.timeoutMs)),
    maxOutputBytes: limits.maxOutput === undefined ? undefined : String(readByteSize("limits.maxOutput", limits.maxOutput)),
    maxPids,
    maxDiskBytes: limits.maxDisk === undefined ? undefined : String(readByteSize("limits.maxDisk", limits.maxDisk)),
    idleTimeoutMs:
      limits.idleTimeoutMs === undefined ? undefined : String(readNonNegativeInteger("limits.idleTimeoutMs", limits.idleTimeoutMs)),
    modelMaxRequests,
    modelMaxTokens:
      limits.modelMaxTokens === undefined ? undefined : String(readPositiveInteger("limits.modelMaxTokens", limits.modelMaxTokens)),
  };
}

function toWireConfig(input: unknown, network: NetworkAccess | undefined): wire.SessionConfig {
  const config = input === undefined ? {} : readObject("config", input, CONFIG_KEYS);
  return {
    mode: config.mode === undefined ? "" : readString("config.mode", config.mode),
    provider: config.provider === undefined ? "" : readString("config.provider", config.provider),
    model: config.model === undefined ? "" : readString("config.model", config.model),
    network: network === undefined ? wire.NetworkPolicy.NETWORK_POLICY_UNSPECIFIED : NETWORK_POLICIES[network],
    telemetry: config.telemetry === undefined ? false : readBoolean("config.telemetry", config.telemetry),
  };
}

// ---- wire -> SDK ----

/** A message the worker must send; its absence means a broken or incompatible worker. */
export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new InternalError(`the worker's answer has no ${what}; is it the same version?`);
  return value;
}

export function fromWireResult(result: wire.JobResult): JobResult {
  const state = jobState(result.state);
  const reason = terminationReason(result.reason);
  const metrics = result.metrics;
  return {
    jobId: result.jobId,
    sessionId: result.sessionId,
    state,
    reason,
    exitCode: result.exitCode,
    signal: result.signal === "" ? undefined : result.signal,
    stdout: result.stdout,
    stderr: result.stderr,
    // Getters, so a large output is not held twice when nobody reads it as text.
    get stdoutText() {
      return this.stdout.toString("utf8");
    },
    get stderrText() {
      return this.stderr.toString("utf8");
    },
    // Less than the job wrote: the worker kept less, or this holds only the head the answer carried.
    stdoutTruncated: result.stdoutTruncated || result.stdout.length < result.stdoutRetainedBytes,
    stderrTruncated: result.stderrTruncated || result.stderr.length < result.stderrRetainedBytes,
    stdoutTotalBytes: result.stdoutTotalBytes,
    stderrTotalBytes: result.stderrTotalBytes,
    stdoutLines: result.stdoutLines,
    stderrLines: result.stderrLines,
    stdoutRetainedBytes: result.stdoutRetainedBytes,
    stderrRetainedBytes: result.stderrRetainedBytes,
    artifacts: result.artifacts.map((artifact) => ({
      path: artifact.path,
      sizeBytes: artifact.sizeBytes,
      sha256: artifact.sha256,
      ...(artifact.contentInline ? { content: artifact.content } : {}),
    })),
    skippedArtifacts: result.skippedArtifacts.map(({ path, reason: why }) => ({ path, reason: why })),
    unlistedArtifacts: result.unlistedArtifacts,
    unlistedSkippedArtifacts: result.unlistedSkippedArtifacts,
    durationMs: metrics?.durationMs ?? 0,
    queueMs: metrics?.queueMs ?? 0,
    phaseMs: {
      initMs: metrics?.initMs ?? 0,
      prepareMs: metrics?.prepareMs ?? 0,
      executeMs: metrics?.executeMs ?? 0,
      collectMs: metrics?.collectMs ?? 0,
      destroyMs: metrics?.destroyMs ?? 0,
    },
    cpuTimeMs: metrics?.cpuTimeMs ?? 0,
    memoryPeakBytes: metrics?.memoryPeakBytes ?? 0,
    processesReaped: metrics?.processesReaped ?? 0,
    workerId: metrics?.workerId ?? "",
    timedOut: state === "timed_out" || reason === "timeout" || reason === "idle_timeout",
    isCanceled: state === "cancelled" || reason === "cancelled",
    // JobFailedError's message quotes this one, so it is never empty; it names fields as the SDK does.
    message: withSdkFieldNames(result.message) || describeEnd(result.jobId, state, reason, result.exitCode, result.signal),
    isolation: result.isolation,
    unenforcedLimits: result.unenforcedLimits,
    ...(result.workspaceChanges ? { workspaceChanges: fromWireWorkspaceChanges(result.workspaceChanges) } : {}),
    ...(result.agent ? { agent: fromWireAgentOutcome(result.agent) } : {}),
  };
}

function fromWireAgentOutcome(agent: wire.AgentOutcome): AgentOutcome {
  return {
    finalText: agent.finalText,
    usage: {
      requests: agent.usage?.requests ?? 0,
      inputTokens: agent.usage?.inputTokens ?? 0,
      outputTokens: agent.usage?.outputTokens ?? 0,
      refusedRequests: agent.usage?.refusedRequests ?? 0,
    },
    opencodeVersion: agent.opencodeVersion,
    steps: agent.steps,
    toolCalls: agent.toolCalls,
    failedToolCalls: agent.failedToolCalls,
  };
}

function fromWireWorkspaceChanges(changes: wire.WorkspaceChanges): WorkspaceChanges {
  return {
    // A kind this SDK does not know cannot be applied safely, so it is left out and the list marked truncated.
    changes: changes.changes.flatMap((change) => {
      const kind = CHANGE_KINDS[change.kind];
      return kind === undefined ? [] : [fromWireChange(change, kind)];
    }),
    truncated: changes.truncated || changes.changes.some((change) => CHANGE_KINDS[change.kind] === undefined),
    truncatedReason: changes.truncatedReason,
  };
}

function fromWireChange(change: wire.WorkspaceChange, kind: WorkspaceChange["kind"]): WorkspaceChange {
  const type = ENTRY_TYPES[change.type] ?? "special";
  return {
    path: change.path,
    kind,
    type,
    ...(type === "file" && change.digest ? { ...fromWireDigest(change.digest), mode: change.mode } : {}),
    ...(type === "symlink" ? { symlinkTarget: change.symlinkTarget } : {}),
    ...(change.contentInline ? { content: change.content } : {}),
    remoteOnly: change.remoteOnly,
  };
}

function describeEnd(jobId: string, state: JobState, reason: TerminationReason, exitCode: number | undefined, signal: string): string {
  const how = [reason, exitCode === undefined ? "" : `exit code ${exitCode}`, signal].filter(Boolean).join(", ");
  return `job ${jobId} ended ${state} (${how})`;
}

/** The SDK event, or undefined for a kind this SDK version does not know (its seq still counts). */
export function fromWireEvent(event: wire.JobEvent): JobEvent | undefined {
  const base = { seq: event.seq, timestamp: new Date(event.timestampUnixMs), jobId: event.jobId };
  const kind = event.kind;
  switch (kind?.$case) {
    case "accepted":
      return {
        ...base,
        type: "accepted",
        sessionId: kind.value.sessionId,
        state: jobState(kind.value.state),
        queuePosition: kind.value.queuePosition,
      };
    case "phaseChanged":
      return { ...base, type: "phase", phase: jobPhase(kind.value.phase), state: jobState(kind.value.state) };
    case "output": {
      const stream = OUTPUT_STREAMS[kind.value.stream];
      return stream && { ...base, type: "output", stream, data: kind.value.data, offset: kind.value.offset };
    }
    case "resourceSample":
      return { ...base, type: "usage", usage: fromWireUsage(kind.value.usage) };
    case "completed":
      return { ...base, type: "completed", result: fromWireResult(kind.value) };
    case "keepalive":
      return { ...base, type: "keepalive" };
    case "agentStep": {
      const { tool, status, text } = kind.value;
      return {
        ...base,
        type: "agent_step",
        kind: AGENT_STEP_KINDS[kind.value.kind] ?? "unknown",
        ...(tool !== "" && { tool }),
        ...(status !== "" && { status }),
        text,
      };
    }
    case "modelCall": {
      const call = kind.value;
      return {
        ...base,
        type: "model_call",
        number: call.number,
        model: call.model,
        httpStatus: call.httpStatus,
        inputTokens: call.inputTokens,
        outputTokens: call.outputTokens,
        latencyMs: call.latencyMs,
        firstByteMs: call.firstByteMs,
        ...(call.refused !== "" && { refused: call.refused }),
      };
    }
    default:
      return undefined;
  }
}

/** Usage is all zeros when absent, as proto3 reads an absent message. */
function fromWireUsage(usage: wire.ResourceUsage | undefined): ResourceUsage {
  return {
    cpuTimeMs: usage?.cpuTimeMs ?? 0,
    memoryBytes: usage?.memoryBytes ?? 0,
    memoryPeakBytes: usage?.memoryPeakBytes ?? 0,
    pids: usage?.pids ?? 0,
  };
}

export function fromWireStatus(status: wire.JobStatus): JobStatus {
  const state = jobState(status.state);
  const noReason = status.reason === wire.TerminationReason.TERMINATION_REASON_UNSPECIFIED;
  return {
    jobId: status.jobId,
    sessionId: status.sessionId,
    state,
    phase: jobPhase(status.phase),
    ended: FINAL_STATES.has(state),
    reason: noReason ? undefined : terminationReason(status.reason),
    createdAt: new Date(status.createdUnixMs),
    startedAt: status.startedUnixMs === 0 ? undefined : new Date(status.startedUnixMs),
    endedAt: status.endedUnixMs === 0 ? undefined : new Date(status.endedUnixMs),
    queueMs: status.queueMs,
    elapsedMs: status.elapsedMs,
    usage: status.usage && fromWireUsage(status.usage),
    lastSeq: status.lastSeq,
  };
}

export function fromWireSession(session: wire.SessionInfo): SessionInfo {
  return {
    sessionId: session.sessionId,
    jobId: session.jobId,
    state: jobState(session.state),
    phase: jobPhase(session.phase),
    ageMs: session.ageMs,
    usage: session.usage && fromWireUsage(session.usage),
  };
}

export function fromWireCancel(response: wire.CancelResponse): CancelOutcome {
  return { cancelled: response.cancelled, state: jobState(response.state) };
}

export function fromWireMetrics(metrics: wire.GetMetricsResponse): WorkerMetrics {
  return {
    workerId: metrics.workerId,
    version: metrics.version,
    uptimeMs: metrics.uptimeMs,
    concurrency: metrics.concurrency,
    maxQueued: metrics.maxQueued,
    active: metrics.active,
    queued: metrics.queued,
    jobsTotal: metrics.jobsTotal,
    outcomes: metrics.outcomes.map((outcome) => ({
      state: jobState(outcome.state),
      reason: terminationReason(outcome.reason),
      count: outcome.count,
    })),
    jobLatency: fromWireLatency(metrics.jobLatency),
    queueLatency: fromWireLatency(metrics.queueLatency),
    rssBytes: metrics.rssBytes,
    heapUsedBytes: metrics.heapUsedBytes,
    isolationMode: metrics.isolationMode,
    isolationDetails: metrics.isolationDetails,
    draining: metrics.draining,
    retainedResults: metrics.retainedResults,
    retainedResultBytes: metrics.retainedResultBytes,
    blobStoreBlobs: metrics.blobStoreBlobs,
    blobStoreBytes: metrics.blobStoreBytes,
    blobsUploadedTotal: metrics.blobsUploadedTotal,
    blobBytesUploadedTotal: metrics.blobBytesUploadedTotal,
    opencodeVersion: metrics.opencodeVersion,
    modelRequestsTotal: metrics.modelRequestsTotal,
    modelRequestsRefusedTotal: metrics.modelRequestsRefusedTotal,
    modelTokensTotal: metrics.modelTokensTotal,
  };
}

function fromWireLatency(latency: wire.LatencySummary | undefined): LatencySummary {
  return {
    count: latency?.count ?? 0,
    p50Ms: latency?.p50Ms ?? 0,
    p90Ms: latency?.p90Ms ?? 0,
    p99Ms: latency?.p99Ms ?? 0,
    maxMs: latency?.maxMs ?? 0,
  };
}
