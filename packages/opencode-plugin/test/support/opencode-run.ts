import { spawn, type ChildProcessByStdio } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { PLUGIN_DIR } from "./opencode-binary.js";

/**
 * One `opencode run --format json` of the real binary, offline and hermetic: its own HOME, TMPDIR and
 * empty project under a temp dir, the scripted model as its only provider, and this package loaded as a
 * plugin through the documented config (`"plugin": [[dir, options]]`). See ../shared/docs/opencode-e2e.md.
 */

/** A JSON line of `opencode run --format json`; tests read the parts they assert on. */
export interface OpencodeEvent {
  type: string;
  sessionID?: string;
  part?: {
    tool?: string;
    text?: string;
    state?: { status?: string; input?: Record<string, unknown>; output?: string; error?: string };
  };
  error?: { name?: string };
}

export interface OpencodeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: OpencodeEvent[];
  stderr: string;
}

export interface OpencodeRun {
  /** The directory opencode runs in: the project its tools work on. */
  project: string;
  /** The events so far; complete once `exited` resolves. */
  events: OpencodeEvent[];
  exited: Promise<OpencodeExit>;
  /**
   * Aborts the run's session as pressing Esc in opencode does (`POST /session/{id}/abort`); only with
   * `server: true`, since a plain `opencode run` dies on SIGINT/SIGTERM without aborting its tools.
   */
  abort(): Promise<void>;
  /** Kills opencode's process groups and removes its temp dirs; safe to call more than once. */
  close(): Promise<void>;
}

export interface OpencodeRunOptions {
  binary: string;
  modelBaseURL: string;
  /** The plugin's options, the second element of its config tuple. */
  pluginOptions: Record<string, unknown>;
  /** Runs `opencode serve` and attaches the run to it, so that `abort()` can reach the session. */
  server?: boolean;
  /** Files the project starts with: relative path -> content. */
  projectFiles?: Record<string, string>;
}

const OFFLINE_ENV = {
  OPENCODE_DISABLE_AUTOUPDATE: "1",
  OPENCODE_DISABLE_MODELS_FETCH: "1",
  OPENCODE_DISABLE_SHARE: "1",
  OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
  // Without it every run leaves a 5.5 MB .so in TMPDIR.
  OPENCODE_DISABLE_FFF: "1",
};

export async function startOpencodeRun(options: OpencodeRunOptions): Promise<OpencodeRun> {
  // A missing plugin fails silently in opencode (the model just lacks the tools): say what to do instead.
  if (!existsSync(join(PLUGIN_DIR, "dist/index.js"))) throw new Error(`the plugin is not built (${PLUGIN_DIR}dist): run \`pnpm build\``);
  const root = mkdtempSync(join(tmpdir(), "opencode-e2e-"));
  const home = join(root, "home");
  const project = join(root, "project");
  mkdirSync(join(root, "tmp"));
  mkdirSync(project);
  for (const [path, content] of Object.entries(options.projectFiles ?? {})) writeFileSync(join(project, path), content);
  stubConfigDirDependencies(join(home, ".config/opencode"));
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    TMPDIR: join(root, "tmp"),
    ...OFFLINE_ENV,
    OPENCODE_CONFIG_CONTENT: JSON.stringify(config(options)),
  };
  // Each in its own process group, so close() reaches every process opencode started.
  const children: Opencode[] = [];
  const start = (args: string[]): Opencode => {
    const child = spawn(options.binary, args, { cwd: project, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    return child;
  };
  const close = async (): Promise<void> => {
    await Promise.all(children.map(killGroup));
    rmSync(root, { recursive: true, force: true });
  };

  let url: string | undefined;
  if (options.server) {
    const server = start(["serve", "--hostname=127.0.0.1", "--port=0"]);
    url = await serverUrl(server).catch(async (error: unknown) => {
      await close();
      throw error;
    });
  }
  const attach = url ? ["--attach", url] : [];
  const child = start(["run", ...attach, "--format", "json", "--model", "fakeprov/fake", "go"]);
  const events: OpencodeEvent[] = [];
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout }).on("line", (line) => {
    // Anything that is not an event (a stray log line) is kept with stderr for the failure message.
    try {
      events.push(JSON.parse(line) as OpencodeEvent);
    } catch {
      stderr += `${line}\n`;
    }
  });
  const exited = new Promise<OpencodeExit>((resolve, reject) => {
    child.once("error", reject);
    // "close" comes after stdout has ended, so every event has been read.
    child.once("close", (code, signal) => resolve({ code, signal, events, stderr }));
  });

  return {
    project,
    events,
    exited,
    async abort() {
      const sessionId = events.find((event) => event.sessionID)?.sessionID;
      if (!url || !sessionId) throw new Error(`abort() needs server: true and a started session (events: ${JSON.stringify(events)})`);
      const response = await fetch(`${url}/session/${sessionId}/abort`, { method: "POST" });
      if (!response.ok) throw new Error(`POST /session/${sessionId}/abort answered ${response.status}: ${await response.text()}`);
    },
    close,
  };
}

type Opencode = ChildProcessByStdio<null, Readable, Readable>;

/** Kills the process group a child leads, including what it left behind after it exited itself. */
async function killGroup(child: Opencode): Promise<void> {
  const running = child.exitCode === null && child.signalCode === null;
  const closed = running ? new Promise((resolve) => child.once("close", resolve)) : undefined;
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // The group has gone already.
  }
  await closed;
}

/** `opencode serve` prints "opencode server listening on http://127.0.0.1:PORT" once it accepts requests. */
async function serverUrl(server: Opencode): Promise<string> {
  let output = "";
  server.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  for await (const line of createInterface({ input: server.stdout })) {
    output += `${line}\n`;
    const url = /listening on (http:\/\/\S+)/.exec(line)?.[1];
    if (url) {
      server.stdout.resume();
      return url;
    }
  }
  throw new Error(`opencode serve exited (${server.exitCode}) before it listened:\n${output}`);
}

function config(options: OpencodeRunOptions): object {
  return {
    $schema: "https://opencode.ai/config.json",
    model: "fakeprov/fake",
    // The title request uses the small model.
    small_model: "fakeprov/fake",
    autoupdate: false,
    share: "disabled",
    provider: {
      fakeprov: {
        npm: "@ai-sdk/openai-compatible",
        name: "Fake",
        options: { baseURL: options.modelBaseURL, apiKey: "sk-fake" },
        models: { fake: { name: "Fake", tool_call: true, limit: { context: 100_000, output: 4096 } } },
      },
    },
    plugin: [[PLUGIN_DIR, options.pluginOptions]],
  };
}

/**
 * opencode installs @opencode-ai/plugin into every config dir from the registry before it loads plugins,
 * unless node_modules exists and the lockfile names every dependency: offline that install stalls about
 * 70 s and then the plugin silently fails to load. This package brings its own copy, so stubs suffice.
 */
function stubConfigDirDependencies(dir: string): void {
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(PLUGIN_DIR, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  const dependencies = { "@opencode-ai/plugin": manifest.dependencies["@opencode-ai/plugin"] };
  writeFileSync(join(dir, "package.json"), JSON.stringify({ dependencies }));
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ lockfileVersion: 3, packages: { "": { dependencies } } }));
}
