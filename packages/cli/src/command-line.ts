import { parseArgs } from "node:util";

export const USAGE = `usage:
  opencode-worker serve [--config PATH] [--section.key=value ...]
  opencode-worker run [--address HOST:PORT] [--timeout-ms N] [--memory SIZE] [--network open] [--cwd DIR] -- <command ...>
configuration: see README (every key also reads OPENCODE_WORKER_<SECTION>_<KEY>)`;

/** Thrown when the command line does not fit the usage; the bin prints the message and the usage. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** 2 is the conventional code for a usage error, apart from crashes (1). */
  readonly exitCode = 2;
}

/** The flags of `run` that shape the job (or pick the worker) rather than the local configuration. */
const RUN_OPTIONS = {
  address: { type: "string" },
  "timeout-ms": { type: "string" },
  memory: { type: "string" },
  network: { type: "string" },
  cwd: { type: "string" },
} as const;

export type RunFlags = Partial<Record<keyof typeof RUN_OPTIONS, string>>;

/** What the command line asks for. `configArgs` go to the worker's config loader as they are. */
export type Invocation =
  | { command: "help" }
  | { command: "serve"; configArgs: string[] }
  | { command: "run"; flags: RunFlags; configArgs: string[]; program: string[] };

export function parseCommandLine(args: readonly string[]): Invocation {
  const [first, ...rest] = args;
  if (first === "--help" || first === "-h" || first === "help") return { command: "help" };
  if (first === "run") return parseRun(rest);
  // `serve` takes only configuration settings, whose names the config loader knows and checks (it
  // names the bad key and the closest good one, and exits 2): they pass through untouched.
  if (first === undefined || first === "serve") return { command: "serve", configArgs: rest };
  // serve is the default command: `opencode-worker --grpc.port=50052`.
  if (first.startsWith("--")) return { command: "serve", configArgs: [...args] };
  throw new UsageError(`unknown command ${JSON.stringify(first)}`);
}

/** `run [flags] [configuration settings] -- <command ...>`: the command is everything after `--`. */
function parseRun(args: readonly string[]): Invocation {
  const { configArgs, runArgs } = setAsideConfigSettings(args);
  const { values, tokens } = parseStrictly(runArgs);
  const terminator = tokens.find((token) => token.kind === "option-terminator")?.index ?? runArgs.length;
  const stray = tokens.find((token) => token.kind === "positional" && token.index < terminator);
  if (stray?.kind === "positional") throw new UsageError(`run: unexpected ${JSON.stringify(stray.value)} before \`--\`; ${GIVE_COMMAND}`);
  const program = runArgs.slice(terminator + 1);
  if (program.length === 0) throw new UsageError(`run: ${GIVE_COMMAND}`);
  return { command: "run", flags: values, configArgs, program };
}

const GIVE_COMMAND = "give the command after `--`, e.g. opencode-worker run -- ls -la";

/**
 * Takes out the configuration settings (`--section.key=value`, `--section.key value`, `--config PATH`),
 * which pick the worker `run` talks to when no --address is given. Their names are open-ended, so
 * parseArgs cannot be told them in advance; everything else is then parsed strictly.
 */
function setAsideConfigSettings(args: readonly string[]): { configArgs: string[]; runArgs: string[] } {
  const { tokens } = parseArgs({ args: [...args], options: RUN_OPTIONS, strict: false, allowPositionals: true, tokens: true });
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
    runArgs: args.filter((_, index) => !setAside.has(index)),
  };
}

/** run's own flags, with parseArgs's checks: no unknown flag, no flag without its value. */
function parseStrictly(args: string[]) {
  try {
    return parseArgs({ args, options: RUN_OPTIONS, allowPositionals: true, tokens: true });
  } catch (error) {
    // Its messages say what to change ("Unknown option '--adress'").
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_"))
      throw new UsageError(`run: ${(error as Error).message}`, { cause: error });
    throw error;
  }
}
