import { pino, type DestinationStream, type Logger } from "pino";
import { prettyFactory } from "pino-pretty";
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
  const format = prettyFactory({ colorize, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", singleLine: true });
  return { write: (line: string) => write(format(line)) };
}
