import { tool } from "@opencode-ai/plugin";
import type { FileInput, JobSpec } from "@opencode-worker/master-client";
import type { PluginSettings } from "../settings.js";
import type { z as zod } from "zod";

const z = tool.schema;

const size = z.union([z.string(), z.number().int().nonnegative()]).describe('bytes, or a size like "512MiB", "2GB"');

/** The arguments of a job, as worker_dispatch_job and worker_stream_job take them: the SDK's JobSpec. */
export const jobArgs = {
  command: z.string().optional().describe("Shell command line, run by /bin/sh -c in the job's work dir. Give command or argv."),
  argv: z.array(z.string()).optional().describe("Program and arguments, run without a shell. Give command or argv."),
  files: z
    .record(
      z.string(),
      z.union([
        z.string(),
        z.object({
          content: z.string(),
          mode: z.number().int().optional().describe("permission bits, e.g. 493 (0o755) for a script to exec"),
          encoding: z.enum(["utf8", "base64"]).optional().describe('"base64" for binary content; default "utf8"'),
        }),
      ]),
    )
    .optional()
    .describe("Input files written into the work dir before the command runs: relative path -> content (UTF-8 text)."),
  env: z.record(z.string(), z.string()).optional().describe("Environment variables added to the worker's safe defaults."),
  cwd: z.string().optional().describe("Working directory relative to the work dir."),
  stdin: z.string().optional().describe("Text fed to standard input, which is then closed."),
  limits: z
    .object({
      cpu: z.number().positive().optional().describe("CPU cores, e.g. 0.5"),
      memory: size.optional(),
      timeoutMs: z.number().int().positive().optional().describe("wall-clock lifetime of the command in ms"),
      maxOutput: size.optional(),
      maxPids: z.number().int().positive().optional(),
      maxDisk: size.optional(),
      idleTimeoutMs: z.number().int().nonnegative().optional().describe("stop after this long without output, ms; 0 = never"),
    })
    .optional()
    .describe("Resource limits; unset ones take the plugin's and then the worker's defaults. A failed job's result says which to raise."),
  network: z.enum(["restricted", "open"]).optional().describe('"open" lets the job reach the network, if the worker allows it.'),
  artifacts: z.array(z.string()).optional().describe("Globs (relative to $OPENCODE_OUTPUT_DIR) of files to collect; default all."),
  jobId: z.string().optional().describe("Your own id [A-Za-z0-9._-]{1,128}; dispatching the same id again returns the same job."),
};

export type JobArgs = zod.infer<zod.ZodObject<typeof jobArgs>>;

/** The SDK spec of a tool call: the call's fields over the plugin's defaults; the SDK checks the rest. */
export function jobSpecOf(args: JobArgs, settings: PluginSettings): JobSpec {
  const { files, limits, network, ...rest } = args;
  return {
    ...rest,
    ...(files && { files: Object.fromEntries(Object.entries(files).map(([path, file]) => [path, fileInput(file)])) }),
    limits: { ...settings.limits, ...limits },
    network: network ?? settings.network,
  };
}

function fileInput(file: NonNullable<JobArgs["files"]>[string]): FileInput {
  if (typeof file === "string") return file;
  const content = file.encoding === "base64" ? Buffer.from(file.content, "base64") : file.content;
  return file.mode === undefined ? content : { content, mode: file.mode };
}
