import { createHash } from "node:crypto";
import { join } from "node:path";
import { JOB_ID_PATTERN, JobSpec, NetworkPolicy, uuidv7 } from "@opencode-worker/shared";
import { agentArgv } from "../agent/agent-command.js";
import type { AgentRuntime } from "../agent/agent-runtime.js";
import { validateAgentTask, type ValidatedAgentTask } from "../agent/validate-agent-task.js";
import type { WorkerConfig } from "../config/worker-config.js";
import { WorkerError, invalidArgument } from "../errors.js";
import { resolveLimits } from "../limits/resolve.js";
import { sessionPaths } from "../sandbox/driver.js";
import { CommandVerdicts } from "../security/command-verdicts.js";
import { buildJobEnv, validateJobEnv } from "../security/env-filter.js";
import { validateArtifactPatterns, validateCwd, validateInputFiles } from "../security/path-guard.js";
import { validateWorkspace } from "../workspace/validate-workspace.js";
import { checkExecSize } from "./exec-size.js";
import type { ValidatedJob } from "./job.js";

const MAX_ARGV_ITEMS = 4096;
const MAX_CONFIG_STRING = 256;
const commandVerdicts = new CommandVerdicts();

/**
 * Checks a JobSpec from the wire and turns it into a ValidatedJob, or throws a WorkerError that names
 * the field and the bad value (INVALID_ARGUMENT) or the policy that refused it (PERMISSION_DENIED).
 * Nothing is written or started before this returns.
 */
export async function validateSpec(spec: JobSpec, config: WorkerConfig, agents: AgentRuntime): Promise<ValidatedJob> {
  const jobId = spec.jobId === "" ? uuidv7() : spec.jobId;
  if (!JOB_ID_PATTERN.test(jobId)) {
    throw invalidArgument("job_id", `expected 1-128 characters of [A-Za-z0-9._-], got ${quote(jobId)}`);
  }
  const files = validateInputFiles(spec.files, spec.fileModes, {
    maxFiles: config.session.maxFiles,
    maxFilesBytes: config.session.maxFilesBytes,
  });
  validateJobEnv(spec.env);
  const agentTask = validateAgentTaskSpec(spec, agents);
  const argv = agentTask ? agentArgv(agentTask) : programArgv(spec);
  if (!agentTask) checkExecSize(argv, jobEnvAsExecuted(spec.env, config), spec.command !== "" ? "command" : "argv");
  const cwd = validateCwd(spec.cwd);
  const artifactPatterns = validateArtifactPatterns(spec.artifacts);
  const limits = resolveLimits(spec.limits, config.governance, agentTask !== undefined);
  // An agent task always has a workspace, empty without one, so that what the agent changed comes back.
  const wantedWorkspace = spec.workspace ?? (agentTask && { entries: [], remoteOnly: [] });
  const workspace =
    wantedWorkspace && validateWorkspace(wantedWorkspace, { filePaths: files.map((file) => file.path), cwd }, config.workspace);
  // Materialized files live on the session's disk, so they count against it: refused here rather than by ENOSPC in PREPARE.
  if (workspace && workspace.totalBytes > limits.maxDiskBytes) {
    throw invalidArgument(
      "workspace.entries",
      `hold ${workspace.totalBytes} bytes, more than the job's disk (limits.max_disk_bytes ${limits.maxDiskBytes}); raise limits.max_disk_bytes`,
    );
  }
  const network = resolveNetwork(spec.config?.network, config.security.allowOpenNetwork);
  const sessionConfig = {
    mode: configString("config.mode", spec.config?.mode),
    provider: configString("config.provider", spec.config?.provider),
    model: configString("config.model", spec.config?.model),
    network: spec.config?.network ?? NetworkPolicy.NETWORK_POLICY_UNSPECIFIED,
    telemetry: spec.config?.telemetry ?? false,
  };
  if (agentTask && network !== "restricted") {
    throw invalidArgument(
      "config.network",
      "an agent task runs with network RESTRICTED: its model is reached through the worker's gateway",
    );
  }
  if (!agentTask && config.governance.commandPolicy === "enforce") {
    await commandVerdicts.verify(spec.command !== "" ? { command: spec.command } : { argv: spec.argv }, {
      allowlist: config.governance.commandAllowlist,
    });
  }
  return {
    jobId,
    specHash: hashSpec({ ...spec, jobId }),
    argv,
    files,
    env: spec.env,
    cwd,
    // The agent reads its prompt on stdin: an argument is capped at 128 KiB by the kernel, a prompt at 256 KiB.
    stdin: agentTask ? Buffer.from(agentTask.prompt) : spec.stdin,
    limits,
    network,
    sessionConfig,
    artifactPatterns,
    ...(workspace && { workspace }),
    ...(agentTask && { agentTask }),
  };
}

/** An agent task, when the spec has one, is the job's program: no command, argv or stdin beside it. */
function validateAgentTaskSpec(spec: JobSpec, agents: AgentRuntime): ValidatedAgentTask | undefined {
  if (!spec.agentTask) return undefined;
  const other = spec.command !== "" ? "command" : spec.argv.length > 0 ? "argv" : spec.stdin.length > 0 ? "stdin" : undefined;
  if (other) throw invalidArgument(other, "must be empty in an agent task: the agent runs its own commands and reads agent_task.prompt");
  return validateAgentTask(
    spec.agentTask,
    { mode: spec.config?.mode ?? "", provider: spec.config?.provider ?? "", model: spec.config?.model ?? "" },
    agents,
  );
}

function programArgv(spec: JobSpec): string[] {
  const hasCommand = spec.command !== "";
  const hasArgv = spec.argv.length > 0;
  if (hasCommand === hasArgv) {
    throw invalidArgument(
      hasCommand ? "argv" : "command",
      "set exactly one of `command` (a shell line), `argv` (a program and its arguments) and `agent_task`",
    );
  }
  if (hasCommand) {
    if (spec.command.includes("\0")) throw invalidArgument("command", "contains a NUL byte");
    return ["/bin/sh", "-c", spec.command];
  }
  if (spec.argv.length > MAX_ARGV_ITEMS) throw invalidArgument("argv", `has ${spec.argv.length} items, more than ${MAX_ARGV_ITEMS}`);
  spec.argv.forEach((arg, index) => {
    if (arg.includes("\0")) throw invalidArgument(`argv[${index}]`, "contains a NUL byte");
  });
  if (spec.argv[0] === "") throw invalidArgument("argv[0]", "is empty; it must name the program to run");
  return spec.argv;
}

/**
 * The environment EXECUTE will build, with the worker's defaults, whose values are paths in the job's
 * session dir, `<base_dir>/session-<uuidv7>`: a fresh uuidv7 has the length the real one will have.
 */
function jobEnvAsExecuted(userEnv: ReadonlyMap<string, string>, config: WorkerConfig): Record<string, string> {
  const paths = sessionPaths(join(config.session.baseDir, `session-${uuidv7()}`));
  return buildJobEnv(userEnv, paths);
}

function resolveNetwork(policy: NetworkPolicy | undefined, allowOpen: boolean): "restricted" | "open" {
  switch (policy ?? NetworkPolicy.NETWORK_POLICY_UNSPECIFIED) {
    case NetworkPolicy.NETWORK_POLICY_UNSPECIFIED:
    case NetworkPolicy.NETWORK_POLICY_RESTRICTED:
      return "restricted";
    case NetworkPolicy.NETWORK_POLICY_OPEN:
      if (!allowOpen) {
        throw new WorkerError(
          "PERMISSION_DENIED",
          "config.network: OPEN is not allowed on this worker (security.allow_open_network is false)",
          {
            field: "config.network",
          },
        );
      }
      return "open";
    default:
      throw invalidArgument("config.network", `unknown network policy ${policy}`);
  }
}

function configString(field: string, value: string | undefined): string {
  const text = value ?? "";
  if (text.length > MAX_CONFIG_STRING) throw invalidArgument(field, `is ${text.length} characters, more than ${MAX_CONFIG_STRING}`);
  return text;
}

/**
 * A stable hash of the spec: map entries sorted, so the same job sent twice with its maps built in
 * another order still counts as the same job for Dispatch's idempotency.
 */
function hashSpec(spec: JobSpec): string {
  const sorted = <V>(map: Map<string, V>) => new Map([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const canonical: JobSpec = { ...spec, files: sorted(spec.files), fileModes: sorted(spec.fileModes), env: sorted(spec.env) };
  return createHash("sha256").update(JobSpec.encode(canonical).finish()).digest("hex");
}

function quote(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text);
}
