import { TerminationReason, type AgentOutcome } from "@opencode-worker/shared";
import type { Logger } from "../logging/logger.js";
import type { PreparedSandbox, ReadOnlyBind } from "../sandbox/driver.js";
import type { Job } from "../session/job.js";
import { agentBinds, gatewaySocketPath } from "./agent-command.js";
import { AgentEventReader } from "./agent-events.js";
import { agentEnv } from "./agent-home.js";
import { startModelGateway } from "./gateway/model-gateway.js";
import { agentConfigPath } from "./prepare-agent-session.js";

/** What EXECUTE needs to run an agent task, beyond a command's. */
export interface AgentExecution {
  /** What the agent's environment adds to a command's (and overrides): HOME, XDG dirs, OpenCode's config and switches. */
  readonly env: Record<string, string>;
  readonly readOnlyBinds: readonly ReadOnlyBind[];
  /** Each chunk of stdout: OpenCode's event lines, turned into agent_step events. */
  onStdout(chunk: Buffer): void;
  /** Once the tree is dead: closes the gateway, and what the agent produced. Idempotent. */
  finish(): Promise<AgentOutcome>;
}

/**
 * EXECUTE's part for an agent task: the model gateway on the session's socket, started before the sandbox (which
 * binds the socket), reporting each model call as a job event and stopping the job when its budget is spent;
 * and the reader of OpenCode's event lines.
 */
export async function startAgentExecution(job: Job, sandbox: PreparedSandbox, log: Logger): Promise<AgentExecution> {
  const task = job.spec.agentTask;
  if (!task) throw new Error("startAgentExecution: the job has no agent task");
  const emit = (event: Parameters<Job["log"]["emit"]>[0]): void => {
    if (!job.log.isClosed) job.log.emit(event);
  };
  const gateway = await startModelGateway({
    socketPath: gatewaySocketPath(sandbox.sessionDir),
    upstream: { providerId: task.provider.id, api: task.provider.api, baseUrl: task.provider.baseUrl, apiKey: task.provider.apiKey },
    model: `${task.provider.id}/${task.modelId}`,
    budget: { maxRequests: job.spec.limits.modelMaxRequests, maxTokens: job.spec.limits.modelMaxTokens },
    onCall: (call) => emit({ $case: "modelCall", value: call }),
    onBudgetSpent: (note) => job.terminate({ reason: TerminationReason.TERMINATION_REASON_MODEL_BUDGET, note }),
    log,
  });
  const events = new AgentEventReader((step) => emit({ $case: "agentStep", value: step }));
  let finished: Promise<AgentOutcome> | undefined;
  return {
    env: agentEnv({ homeDir: sandbox.jobHomeDir, tmpDir: sandbox.jobTmpDir, configPath: agentConfigPath(sandbox.sessionDir) }),
    readOnlyBinds: agentBinds(task, sandbox.sessionDir),
    onStdout: (chunk) => events.push(chunk),
    finish: () =>
      (finished ??= (async () => {
        await gateway.close();
        events.end();
        return { ...events.outcome(), usage: gateway.usage(), opencodeVersion: task.install.version };
      })()),
  };
}
