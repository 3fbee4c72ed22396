import { resolve } from "node:path";
import { tool, type ToolDefinition } from "@opencode-ai/plugin";
import type { JobEvent, JobLimitsInput, JobSpec } from "@opencode-worker/master-client";
import type { z as zod } from "zod";
import { progressLine, renderDelegation } from "../report/render-delegation.js";
import type { PluginSettings } from "../settings.js";
import type { ProjectWorkspaces } from "./project-workspaces.js";
import type { WorkerAccess } from "./worker-access.js";

const z = tool.schema;

/** How often the opencode UI is told about the agent's progress, at most. */
const PROGRESS_INTERVAL_MS = 250;
/** Progress lines the UI shows: the latest ones. */
const PROGRESS_LINES = 20;

const DESCRIPTION = `Delegates a task to a fresh OpenCode agent on a remote opencode-worker: it works on a copy of the project directory in an isolated sandbox, with its own model reached only through the worker, and its changes come back.

- Give a self-contained prompt: the agent sees the project's files but not this conversation.
- What the agent changes in the project (files added, modified, deleted) is applied to the local project before the tool returns, unless apply is false.
- The result gives how the task ended, the agent's final text, the changes (with the contents of small text files), the model use (requests, tokens) and the job id.
- The agent has no network; a task that needs more model requests or tokens than its limits is stopped ("model_budget").`;

/** The tool's arguments, described for a model. */
export const delegateTaskArgs = {
  prompt: z.string().min(1).describe("The task, self-contained: what to do, where, and what to answer with."),
  model: z
    .string()
    .optional()
    .describe("The agent's model as \"provider/model\", one the worker serves. Default: the plugin's delegateModel, else the worker's."),
  agent: z.string().optional().describe('The OpenCode agent: "build" (may change files, the default) or "plan" (reads and answers).'),
  files: z
    .record(z.string(), z.string())
    .optional()
    .describe(
      "Extra input files for the agent: path relative to the project -> text content, written beside the project's files. " +
        "They come back into the project only if the agent changes them (or apply is false: never).",
    ),
  limits: z
    .object({
      timeout_ms: z.number().int().positive().optional().describe("wall-clock lifetime of the task in ms"),
      memory_bytes: z.number().int().positive().optional().describe("memory of the agent's sandbox in bytes (it needs about 1 GiB)"),
      model_max_requests: z.number().int().positive().optional().describe("requests the agent may make of its model"),
      model_max_tokens: z.number().int().positive().optional().describe("tokens (prompt plus answer) the agent may use"),
    })
    .optional()
    .describe("Limits; unset ones take the plugin's and then the worker's defaults."),
  apply: z.boolean().optional().describe("Apply the agent's changes to the local project. Default true; false only reports them."),
};

export type DelegateTaskArgs = zod.infer<zod.ZodObject<typeof delegateTaskArgs>>;

/** The SDK spec of a call: an agent task over the plugin's defaults. The project comes as the workspace. */
export function delegationSpecOf(args: DelegateTaskArgs, settings: PluginSettings): Omit<JobSpec, "workspace"> {
  const model = args.model ?? settings.delegateModel;
  const limits: JobLimitsInput = { ...settings.limits };
  if (args.limits?.timeout_ms !== undefined) limits.timeoutMs = args.limits.timeout_ms;
  if (args.limits?.memory_bytes !== undefined) limits.memory = args.limits.memory_bytes;
  if (args.limits?.model_max_requests !== undefined) limits.modelMaxRequests = args.limits.model_max_requests;
  if (args.limits?.model_max_tokens !== undefined) limits.modelMaxTokens = args.limits.model_max_tokens;
  return {
    agentTask: {
      prompt: args.prompt,
      ...(model !== undefined && { model }),
      ...(args.agent !== undefined && { agent: args.agent }),
    },
    ...(args.files && { files: args.files }),
    limits,
    // The agent reaches its model through the worker's gateway, never the network: the worker refuses "open".
    network: "restricted",
  };
}

/**
 * `worker_delegate_task`: an OpenCode agent on the worker works on the project (RemoteWorkspace, as the
 * remote bash runs a command), its steps shown live, its changes applied back, its answer sized for a model.
 */
export function delegateTask(worker: WorkerAccess, workspaceOf: ProjectWorkspaces): ToolDefinition {
  return tool({
    description: DESCRIPTION,
    args: delegateTaskArgs,
    async execute(args, context) {
      const root = resolve(context.directory);
      const apply = args.apply ?? true;
      return worker.use(async (client, settings) => {
        const progress: string[] = [];
        let jobId = "";
        let shownAt = 0;
        const show = (): void => {
          shownAt = Date.now();
          context.metadata({ title: `delegated task${jobId && ` ${jobId}`}`, metadata: { jobId, output: progress.join("\n") } });
        };
        const onEvent = (event: JobEvent): void => {
          jobId = event.jobId;
          // The UI names the job as soon as the worker has it, before the agent's first step.
          if (event.type === "accepted") return show();
          const line = event.type === "agent_step" || event.type === "model_call" ? progressLine(event) : undefined;
          if (line === undefined) return;
          progress.push(line);
          progress.splice(0, progress.length - PROGRESS_LINES);
          if (Date.now() - shownAt >= PROGRESS_INTERVAL_MS) show();
        };
        try {
          const run = await workspaceOf(client, root, settings.remoteOnly).run(delegationSpecOf(args, settings), {
            signal: context.abort,
            onEvent,
            apply,
          });
          show();
          return renderDelegation({ result: run.result, applied: apply ? run.applied : undefined }, settings.resultBytes);
        } catch (error) {
          // The workspace cancels its job on abort; nothing was applied locally.
          if (context.abort.aborted) {
            return `the delegated task${jobId && ` (job ${jobId})`} was cancelled: the tool call was stopped (no change was applied locally)`;
          }
          throw error;
        }
      });
    },
  });
}
