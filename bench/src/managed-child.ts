import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** Lines of a child's output kept for error messages; the rest is read and dropped. */
const KEPT_LINES = 40;
/** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 15_000;

/**
 * A child process the bench starts and must stop: its stdout and stderr are always drained (a full
 * pipe would stall the child and distort the figures) and only the last lines are kept.
 */
export class ManagedChild {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];
  readonly #lineListeners = new Set<(line: string) => void>();
  /** Settles with a description of how the child ended. */
  readonly exited: Promise<string>;

  constructor(
    readonly name: string,
    argv: readonly string[],
  ) {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error(`${name}: empty argv`);
    this.#child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => this.#onLine(line));
    }
    this.exited = new Promise((resolve) => {
      this.#child.once("error", (error) => resolve(`failed to start: ${error.message}`));
      this.#child.once("exit", (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with code ${code}`));
    });
  }

  get pid(): number {
    const pid = this.#child.pid;
    if (pid === undefined) throw new Error(`${this.name} has no pid (it failed to start)`);
    return pid;
  }

  /** The last lines the child wrote, oldest first. */
  recentLines(): string[] {
    return [...this.#lines];
  }

  /** Resolves with the first line (from now on) for which `parse` returns a value. */
  waitForLine<T>(parse: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = (error: Error | undefined, value?: T): void => {
        clearTimeout(timer);
        this.#lineListeners.delete(listener);
        if (error) reject(error);
        else resolve(value as T);
      };
      const listener = (line: string): void => {
        const value = parse(line);
        if (value !== undefined) finish(undefined, value);
      };
      const timer = setTimeout(() => finish(this.failure(`gave no ready line within ${timeoutMs} ms`)), timeoutMs);
      this.#lineListeners.add(listener);
      void this.exited.then((how) => finish(this.failure(`${how} before it was ready`)));
    });
  }

  /** An error naming the child and quoting its last lines. */
  failure(what: string): Error {
    const tail = this.#lines
      .slice(-10)
      .map((line) => `  | ${line}`)
      .join("\n");
    return new Error(`${this.name} ${what}${tail ? `; its last output:\n${tail}` : ""}`);
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves with how it ended. */
  async stop(): Promise<string> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill("SIGTERM");
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), STOP_GRACE_MS);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  #onLine(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > KEPT_LINES) this.#lines.shift();
    for (const listener of this.#lineListeners) listener(line);
  }
}
