import { pino, type Logger } from "pino";
import type { WorkerConfig } from "../config/worker-config.js";

export type { Logger };

/** JSON lines to stdout by default; `logging.pretty` for people at a terminal. */
export function createLogger(options: WorkerConfig["logging"]): Logger {
  if (options.pretty) {
    return pino({ level: options.level, transport: { target: "pino-pretty", options: { colorize: true } } });
  }
  return pino({ level: options.level });
}
