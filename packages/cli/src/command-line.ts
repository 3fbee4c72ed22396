import { parseArgs, type ParseArgsConfig } from "node:util";

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/** Thrown when the command line does not fit the usage; the bin prints the message and the usage. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** 2 is the conventional code for a usage error, apart from crashes and the job's own codes. */
  readonly exitCode = 2;

  constructor(
    message: string,
    /** The command whose usage to print. */
    readonly command?: CommandName,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const HELP = { help: { type: "boolean", short: "h" } } as const;

/** How every client command finds and authenticates to its worker. */
const CLIENT_OPTIONS = {
  ...HELP,
  address: { type: "string" },
  ca: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  "token-file": { type: "string" },
} as const;

const JSON_OPTION = { json: { type: "boolean" } } as const;

const CLIENT_USAGE = `worker: --address HOST:PORT, or the local configuration's grpc.host and grpc.port (--config PATH, --grpc.port N, ...)
auth:   --ca FILE (the worker's CA, turns on TLS), --cert FILE --key FILE (a client certificate), --token-file FILE
        (a bearer token; or the environment variable OPENCODE_WORKER_TOKEN)`;

/** Each command: its flags, its positional argument, and its help. */
const COMMANDS = {
  serve: {
    options: HELP,
    argument: undefined,
    usage: "serve [--config PATH] [--section.key=value ...]",
    summary:
      "start a worker; stops gracefully on SIGTERM or SIGINT\nconfiguration: see README (every key also reads OPENCODE_WORKER_<SECTION>_<KEY>)",
  },
  run: {
    options: {
      ...CLIENT_OPTIONS,
      "timeout-ms": { type: "string" },
      memory: { type: "string" },
      network: { type: "string" },
      cwd: { type: "string" },
    },
    argument: undefined,
    usage: "run [--timeout-ms N] [--memory SIZE] [--network open] [--cwd DIR] [worker options] -- <command ...>",
    summary: `dispatch one job and stream its output live; piped stdin becomes the job's stdin
one word after \`--\` is a shell line (-- 'make | tee log'), several are an argv (-- ls -la)
exit code: the job's (128+n for a signal), 124 if it timed out, 130 on Ctrl-C (the job is cancelled),
125 when the worker refused the job or could not be reached`,
  },
  ls: {
    options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
    argument: undefined,
    usage: "ls [--json] [worker options]",
    summary: "list the jobs that hold a session now (running and queued)",
  },
  status: {
    options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
    argument: "JOB",
    usage: "status [--json] [worker options] JOB",
    summary: "a job's state, phase, timings and usage",
  },
  logs: {
    options: { ...CLIENT_OPTIONS, ...JSON_OPTION, follow: { type: "boolean", short: "f" }, "after-seq": { type: "string" } },
    argument: "JOB",
    usage: "logs [-f] [--after-seq N] [--json] [worker options] JOB",
    summary: `a job's output: stdout to stdout, stderr to stderr, bytes as the job wrote them
without -f, what the worker holds now; with -f, live until the job ends (Ctrl-C stops following, the job goes on)
--after-seq N: only the events after seq N (--json prints each event's seq, one JSON object a line)`,
  },
  cancel: {
    options: { ...CLIENT_OPTIONS, ...JSON_OPTION, reason: { type: "string" } },
    argument: "JOB",
    usage: "cancel [--reason TEXT] [--json] [worker options] JOB",
    summary: "stop a job and its whole process tree; harmless on a job that has ended",
  },
  metrics: {
    options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
    argument: undefined,
    usage: "metrics [--json] [worker options]",
    summary: "the worker's load, outcomes, latencies and isolation",
  },
  health: {
    options: { ...CLIENT_OPTIONS, ...JSON_OPTION },
    argument: undefined,
    usage: "health [--json] [worker options]",
    summary: "the worker's grpc.health.v1 status; exit code 0 when SERVING, 1 otherwise",
  },
} as const satisfies Record<string, { options: ParseArgsOptionsConfig; argument: string | undefined; usage: string; summary: string }>;

export type CommandName = keyof typeof COMMANDS;

export const USAGE = `usage: opencode-worker <command> [options]
${Object.values(COMMANDS)
  .map(({ usage }) => `  opencode-worker ${usage}`)
  .join("\n")}
  opencode-worker --version
\`opencode-worker <command> --help\` tells more; every command but serve and run takes --json.
${CLIENT_USAGE}
exit codes: 2 for a usage or configuration error, 125 when the worker cannot be reached or refuses`;

/** One command's help: its usage line, what it does and, for client commands, the worker options. */
export function usageOf(command: CommandName): string {
  const { usage, summary } = COMMANDS[command];
  return `usage: opencode-worker ${usage}\n${summary}${command === "serve" ? "" : `\n${CLIENT_USAGE}`}`;
}

/** A flag's value as parseArgs gives it: boolean flags are booleans, the rest strings. */
export type Flags<Options extends ParseArgsOptionsConfig> = {
  [Name in keyof Options]?: Options[Name]["type"] extends "boolean" ? boolean : string;
};

export type RunFlags = Flags<(typeof COMMANDS)["run"]["options"]>;
export type ClientFlags = Flags<typeof CLIENT_OPTIONS>;
export type JsonFlags = ClientFlags & Flags<typeof JSON_OPTION>;
export type LogsFlags = Flags<(typeof COMMANDS)["logs"]["options"]>;
export type CancelFlags = Flags<(typeof COMMANDS)["cancel"]["options"]>;

/** What the command line asks for. `configArgs` go to the worker's config loader as they are. */
export type Invocation =
  /** No command at all: the usage, as an error (exit 2), so a bare `opencode-worker` starts nothing. */
  | { command: "usage" }
  | { command: "help"; topic?: CommandName }
  | { command: "version" }
  | { command: "serve"; configArgs: string[] }
  | { command: "run"; flags: RunFlags; configArgs: string[]; program: string[] }
  | { command: "ls" | "metrics" | "health"; flags: JsonFlags; configArgs: string[] }
  | { command: "status"; flags: JsonFlags; configArgs: string[]; jobId: string }
  | { command: "logs"; flags: LogsFlags; configArgs: string[]; jobId: string }
  | { command: "cancel"; flags: CancelFlags; configArgs: string[]; jobId: string };

export function parseCommandLine(args: readonly string[]): Invocation {
  const [first, ...rest] = args;
  if (first === undefined) return { command: "usage" };
  if (first === "--help" || first === "-h") return { command: "help" };
  if (first === "help") return { command: "help", topic: rest[0] === undefined ? undefined : commandName(rest[0]) };
  if (first === "--version" || first === "-V" || first === "version") return { command: "version" };
  const command = commandName(first);
  switch (command) {
    case "serve":
      return parseServe(rest);
    case "run":
      return parseRun(rest);
    case "ls":
    case "metrics":
    case "health": {
      const parsed = parseClientCommand(command, rest);
      return "command" in parsed ? parsed : { command, flags: parsed.flags, configArgs: parsed.configArgs };
    }
    case "status":
    case "logs":
    case "cancel": {
      const parsed = parseClientCommand(command, rest);
      if ("command" in parsed) return parsed;
      return { command, flags: parsed.flags, configArgs: parsed.configArgs, jobId: parsed.argument };
    }
  }
}

function commandName(word: string): CommandName {
  if (Object.hasOwn(COMMANDS, word)) return word as CommandName;
  throw new UsageError(`unknown command ${JSON.stringify(word)}`);
}

/**
 * `serve` takes only configuration settings, whose names the config loader knows and checks (it
 * names the bad key and the closest good one, and exits 2): they pass through untouched.
 */
function parseServe(args: string[]): Invocation {
  const terminator = args.indexOf("--");
  const own = terminator === -1 ? args : args.slice(0, terminator);
  if (own.includes("--help") || own.includes("-h")) return { command: "help", topic: "serve" };
  return { command: "serve", configArgs: args };
}

/** `run [flags] [configuration settings] -- <command ...>`: the command is everything after `--`. */
function parseRun(args: readonly string[]): Invocation {
  const { configArgs, ownArgs } = setAsideConfigSettings("run", args);
  const { values, tokens } = parseStrictly("run", ownArgs);
  if (values.help === true) return { command: "help", topic: "run" };
  const terminator = tokens.find((token) => token.kind === "option-terminator")?.index ?? ownArgs.length;
  const stray = tokens.find((token) => token.kind === "positional" && token.index < terminator);
  if (stray?.kind === "positional")
    throw new UsageError(`run: unexpected ${JSON.stringify(stray.value)} before \`--\`; ${GIVE_COMMAND}`, "run");
  const program = ownArgs.slice(terminator + 1);
  if (program.length === 0) throw new UsageError(`run: ${GIVE_COMMAND}`, "run");
  const { help: _help, ...flags } = values as RunFlags & { help?: boolean };
  return { command: "run", flags, configArgs, program };
}

const GIVE_COMMAND = "give the command after `--`, e.g. opencode-worker run -- ls -la";

/** A client command's flags, and its one positional argument (the job) when it takes one. */
function parseClientCommand(
  command: Exclude<CommandName, "serve" | "run">,
  args: readonly string[],
): { command: "help"; topic: CommandName } | { flags: LogsFlags & CancelFlags; configArgs: string[]; argument: string } {
  const { configArgs, ownArgs } = setAsideConfigSettings(command, args);
  const { values, positionals } = parseStrictly(command, ownArgs);
  if (values.help === true) return { command: "help", topic: command };
  const expected = COMMANDS[command].argument;
  const [argument, ...extra] = positionals;
  if (expected !== undefined && argument === undefined)
    throw new UsageError(`${command}: give the ${expected}, e.g. opencode-worker ${command} 0190...`, command);
  const unexpected = expected === undefined ? argument : extra[0];
  if (unexpected !== undefined) throw new UsageError(`${command}: unexpected ${JSON.stringify(unexpected)}`, command);
  // The command's option table made these flags, of these types.
  const { help: _help, ...flags } = values as LogsFlags & CancelFlags & { help?: boolean };
  return { flags, configArgs, argument: argument ?? "" };
}

/**
 * Takes out the configuration settings (`--section.key=value`, `--section.key value`, `--config PATH`),
 * which pick the worker a client command talks to when no --address is given. Their names are
 * open-ended, so parseArgs cannot be told them in advance; everything else is then parsed strictly.
 */
function setAsideConfigSettings(command: CommandName, args: readonly string[]): { configArgs: string[]; ownArgs: string[] } {
  const options = COMMANDS[command].options;
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const setAside = new Set<number>();
  for (const [at, token] of tokens.entries()) {
    if (token.kind === "option-terminator") break;
    if (token.kind !== "option" || !(token.name === "config" || token.name.includes("."))) continue;
    setAside.add(token.index);
    // Unknown to parseArgs, `--section.key value` reads as a bare flag followed by a positional.
    const next = tokens[at + 1];
    if (token.value === undefined && next?.kind === "positional") setAside.add(next.index);
  }
  return {
    configArgs: args.filter((_, index) => setAside.has(index)),
    ownArgs: args.filter((_, index) => !setAside.has(index)),
  };
}

/** A command's own flags, with parseArgs's checks: no unknown flag, no flag without its value. */
function parseStrictly(command: CommandName, args: string[]) {
  try {
    return parseArgs({ args, options: COMMANDS[command].options as ParseArgsOptionsConfig, allowPositionals: true, tokens: true });
  } catch (error) {
    // Its messages say what to change ("Unknown option '--adress'").
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      throw new UsageError(`${command}: ${(error as Error).message}`, command, { cause: error });
    }
    throw error;
  }
}
