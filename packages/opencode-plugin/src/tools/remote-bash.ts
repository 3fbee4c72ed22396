import { isAbsolute, relative, resolve, sep } from "node:path";
import { tool, type ToolDefinition } from "@opencode-ai/plugin";
import { OutputDigest } from "../report/output-digest.js";
import { BASH_RESULT_BYTES, renderBash } from "../report/render-bash.js";
import { readableText } from "../report/text-cut.js";
import type { ProjectWorkspaces } from "./project-workspaces.js";
import type { WorkerAccess } from "./worker-access.js";

const z = tool.schema;

/** opencode's own bash tool stops a command after 2 minutes unless its call says otherwise. */
export const DEFAULT_BASH_TIMEOUT_MS = 120_000;
/** How often the opencode UI is told about new output, at most. */
const PROGRESS_INTERVAL_MS = 250;
const PREVIEW_BYTES = 4096;

const DESCRIPTION = `Executes a given bash command with optional timeout, on a remote opencode-worker: an isolated, disposable sandbox that gets a copy of the project directory.

- The command runs in the project directory by default (a copy of it on the worker, synced by content: only files the worker lacks are sent). Use the \`workdir\` parameter to run it in a subdirectory of the project instead of \`cd <dir> && <command>\`; a directory outside the project is refused.
- What the command changes in the project (files added, modified, deleted) is applied to the local project before the tool returns, and listed at the end of the result. Paths matching the plugin's remoteOnly globs (by default node_modules/**) stay on the worker and are there again for the next command.
- Nothing else persists between calls: no background processes, no shell variables, nothing written outside the project.
- Output is stdout and stderr combined, as the command printed them. If it exceeds ${BASH_RESULT_BYTES} bytes or 2000 lines, only its end is returned, after a note.
- The result says the exit code when it is not 0, and why the command was stopped when a limit stopped it.
- You can specify an optional timeout in milliseconds; without one a command is stopped after ${DEFAULT_BASH_TIMEOUT_MS} ms.
- Use '&&' to chain commands that depend on each other; avoid interactive commands (stdin is empty).`;

/**
 * The opt-in `bash` tool: opencode's built-in one, with the command run on the worker over a
 * content-addressed copy of the project (RemoteWorkspace) and its changes applied back locally.
 */
export function remoteBash(worker: WorkerAccess, workspaceOf: ProjectWorkspaces): ToolDefinition {
  return tool({
    description: DESCRIPTION,
    args: {
      command: z.string().describe("The command to execute"),
      timeout: z.number().int().positive().optional().describe("Optional timeout in milliseconds"),
      workdir: z
        .string()
        .optional()
        .describe(
          "The working directory to run the command in, inside the project. Defaults to the project directory. Use this instead of 'cd' commands.",
        ),
      description: z
        .string()
        .optional()
        .describe("Clear, concise description of what this command does in 5-10 words, e.g. 'Installs package dependencies'"),
    },
    async execute(args, context) {
      const root = resolve(context.directory);
      const cwd = workdirIn(root, args.workdir);
      if (cwd === undefined) {
        return `workdir ${JSON.stringify(args.workdir)} is outside the project directory ${root}: the remote bash runs only inside it; give a directory inside it, or leave workdir out`;
      }
      return worker.use(async (client, settings) => {
        const timeoutMs = args.timeout ?? settings.limits.timeoutMs ?? DEFAULT_BASH_TIMEOUT_MS;
        // One digest for both streams, in arrival order: the interleaving a terminal would show.
        const output = new OutputDigest(BASH_RESULT_BYTES);
        const title = args.description ?? args.command;
        let shownAt = 0;
        const show = (): void => {
          shownAt = Date.now();
          context.metadata({ title, metadata: { output: readableText(output.latest(PREVIEW_BYTES)), description: args.description } });
        };
        try {
          const run = await workspaceOf(client, root, settings.remoteOnly).run(
            {
              command: args.command,
              ...(cwd !== "" && { cwd }),
              limits: { ...settings.limits, timeoutMs },
              network: settings.network,
            },
            {
              signal: context.abort,
              onOutput: (_stream, data) => {
                output.push(data);
                if (Date.now() - shownAt >= PROGRESS_INTERVAL_MS) show();
              },
            },
          );
          show();
          return renderBash({
            tail: output.latest(BASH_RESULT_BYTES),
            totalBytes: output.totalBytes,
            result: run.result,
            applied: run.applied,
            timeoutMs,
          });
        } catch (error) {
          // The workspace cancels its job on abort; nothing was applied locally.
          if (context.abort.aborted) return "the command was cancelled: the tool call was stopped (no change was applied locally)";
          throw error;
        }
      });
    },
  });
}

/** The job's cwd for `workdir`: relative to the project, "" for the project itself, undefined when outside it. */
export function workdirIn(root: string, workdir: string | undefined): string | undefined {
  if (workdir === undefined || workdir === "") return "";
  const path = relative(root, resolve(root, workdir));
  if (path === ".." || path.startsWith(`..${sep}`) || isAbsolute(path)) return undefined;
  return path.split(sep).join("/");
}
