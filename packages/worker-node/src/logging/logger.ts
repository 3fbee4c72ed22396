import { createRequire } from "node:module";
import { pino, type DestinationStream, type Logger } from "pino";
import type { WorkerConfig } from "../config/worker-config.js";

export type { Logger };

/**
 * JSON lines to stdout for log collectors; `logging.pretty` (the default when stdout is a terminal)
 * for people. Pretty lines are formatted in this thread: pino's transports would start a worker thread.
 */
export function createLogger(options: WorkerConfig["logging"]): Logger {
  if (!options.pretty) return pino({ level: options.level });
  const stdout = pino.destination({ dest: 1, sync: true });
  return pino(
    { level: options.level },
    prettyLines((text) => stdout.write(text), process.stdout.isTTY === true),
  );
}

/** A pino destination that writes each JSON line as `[HH:MM:ss.l] LEVEL: message {fields}`, one line each. */
export function prettyLines(write: (text: string) => void, colorize: boolean): DestinationStream {
  // Required here, not imported at the top: pino-pretty weighs some 10 MB, and JSON logs never need it.
  const { prettyFactory } = createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty");
  const format = prettyFactory({ colorize, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", singleLine: true });
  return { write: (line: string) => write(format(line)) };
}
