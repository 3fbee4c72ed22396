import { createHash, timingSafeEqual } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { ConfigError } from "../../config/config-error.js";
import type { Logger } from "../../logging/logger.js";

/**
 * auth.token_file: one `<identity> sha256:<hex>` line per token, the hex being the SHA-256 of the
 * token's UTF-8 bytes (`printf %s "$TOKEN" | sha256sum`). Blank lines and `#` comments are skipped.
 * Only hashes are stored, so the file leaks no token; an identity may have several lines (rotation).
 */
const LINE = /^(\S+)\s+sha256:([0-9a-fA-F]{64})$/;

/** How often the file's metadata is checked for a change: a rotation takes effect within it. */
const POLL_MS = 1000;

interface TokenEntry {
  identity: string;
  hash: Buffer;
}

function hashToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Throws an Error naming the first bad line. */
export function parseTokenFile(text: string): TokenEntry[] {
  const entries: TokenEntry[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = LINE.exec(line);
    if (!match) throw new Error(`line ${index + 1} is not "<identity> sha256:<64 hex digits>"`);
    entries.push({ identity: match[1]!, hash: Buffer.from(match[2]!, "hex") });
  }
  return entries;
}

/** The token file as last read successfully, kept current by polling and on SIGHUP. */
export class TokenFile {
  private stamp = "";
  private reloading: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    private entries: TokenEntry[],
    private readonly log: Logger,
  ) {}

  /** Reads the file at start-up; an unreadable or malformed file is a ConfigError (exit 2). */
  static async open(path: string, log: Logger): Promise<TokenFile> {
    try {
      const file = new TokenFile(path, [], log);
      await file.read();
      return file;
    } catch (error) {
      throw new ConfigError("auth.token_file", path, "config", `expected a readable token file: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /**
   * The identity whose token this is, or undefined. Every entry is compared, with timingSafeEqual on
   * fixed-length hashes, so the time taken says nothing about how close a guess was.
   */
  identify(token: string): string | undefined {
    const hash = hashToken(token);
    let identity: string | undefined;
    for (const entry of this.entries) if (timingSafeEqual(entry.hash, hash)) identity ??= entry.identity;
    return identity;
  }

  /** Re-reads on a change of the file's metadata and on SIGHUP; returns the function that stops both. */
  watch(): () => void {
    const onSignal = (): void => void this.reload();
    const timer = setInterval(() => void this.reloadIfChanged(), POLL_MS);
    timer.unref();
    process.on("SIGHUP", onSignal);
    return () => {
      clearInterval(timer);
      process.off("SIGHUP", onSignal);
    };
  }

  /** A bad file keeps the tokens read last: a typo must not lock every client out, nor let everyone in. */
  reload(): Promise<void> {
    this.reloading ??= this.read()
      .then(
        () => this.log.info({ path: this.path, tokens: this.entries.length }, "auth.token_file reloaded"),
        (error: unknown) =>
          this.log.error(
            { path: this.path, error: (error as Error).message },
            "auth.token_file not reloaded; the previous tokens stay in force",
          ),
      )
      .finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async reloadIfChanged(): Promise<void> {
    const stamp = await fileStamp(this.path).catch(() => this.stamp);
    if (stamp !== this.stamp) await this.reload();
  }

  private async read(): Promise<void> {
    const stamp = await fileStamp(this.path);
    this.entries = parseTokenFile(await readFile(this.path, "utf8"));
    this.stamp = stamp;
  }
}

/** What identifies a version of the file: an edit in place changes mtime or size, a rename the inode. */
async function fileStamp(path: string): Promise<string> {
  const info = await stat(path);
  return `${info.ino}:${info.size}:${info.mtimeMs}`;
}
