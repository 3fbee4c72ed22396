import { join } from "node:path";
import { RELAY_IN_SANDBOX, RELAY_PATH, RELAY_PORT } from "./model-relay.js";
import type { ValidatedAgentTask } from "./validate-agent-task.js";

/** Where the sandbox sees its gateway's socket: the same path in every session, so the argv is the task's alone. */
export const GATEWAY_SOCKET_IN_SANDBOX = "/run/opencode-worker/model.sock";

/** The provider's base URL as the agent sees it: the relay on the sandbox's own loopback. */
export const RELAY_BASE_URL = `http://127.0.0.1:${RELAY_PORT}`;

/**
 * The gateway's socket on the host: in a root-only directory of the session, which the job (a slot uid) cannot
 * enter, bound into the sandbox at GATEWAY_SOCKET_IN_SANDBOX. Nothing else of the host's is reachable from there.
 */
export function gatewaySocketPath(sessionDir: string): string {
  return join(sessionDir, "gateway", "model.sock");
}

/**
 * The job's program for an agent task: the relay, which serves the model on the sandbox's loopback and runs
 * OpenCode as its child, exiting with its status. The prompt is OpenCode's stdin (validate-spec.ts).
 */
export function agentArgv(task: ValidatedAgentTask): string[] {
  const model = `${task.provider.id}/${task.modelId}`;
  return [
    RELAY_IN_SANDBOX,
    String(RELAY_PORT),
    GATEWAY_SOCKET_IN_SANDBOX,
    "--",
    task.install.binary,
    "run",
    "--format",
    "json",
    "--model",
    model,
    "--agent",
    task.agent,
  ];
}

/** What an agent task's sandbox binds read-only beyond a command's: OpenCode, the relay, and the gateway's socket. */
export function agentBinds(task: ValidatedAgentTask, sessionDir: string): { source: string; target: string }[] {
  return [
    { source: task.install.dir, target: task.install.dir },
    { source: RELAY_PATH, target: RELAY_IN_SANDBOX },
    { source: gatewaySocketPath(sessionDir), target: GATEWAY_SOCKET_IN_SANDBOX },
  ];
}
