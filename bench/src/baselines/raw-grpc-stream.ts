import { fileURLToPath } from "node:url";
import { Client, credentials } from "@grpc/grpc-js";
import { ManagedChild } from "../managed-child.js";
import { encodeRequest, RAW_STREAM_PATH } from "./raw-stream-service.js";

const SERVER_SCRIPT = fileURLToPath(new URL("./raw-stream-server.js", import.meta.url));

/** What a stream's consumer counted; it keeps no bytes. */
export interface Received {
  bytes: number;
  messages: number;
}

/** The raw grpc-js stream baseline: a server process of its own and a plain grpc-js client here. */
export class RawStreamBaseline {
  private constructor(
    private readonly server: ManagedChild,
    private readonly client: Client,
  ) {}

  static async start(): Promise<RawStreamBaseline> {
    const server = new ManagedChild("raw grpc-js stream server", [process.execPath, SERVER_SCRIPT]);
    try {
      const port = await server.waitForLine((line) => {
        const port: unknown = line.startsWith("{") ? (JSON.parse(line) as { port?: unknown }).port : undefined;
        return typeof port === "number" ? port : undefined;
      }, 10_000);
      return new RawStreamBaseline(server, new Client(`127.0.0.1:${port}`, credentials.createInsecure()));
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  get pid(): number {
    return this.server.pid;
  }

  /** Streams `totalBytes` and counts them as they arrive (nothing is kept). */
  stream(totalBytes: number): Promise<Received> {
    return new Promise((resolve, reject) => {
      const received: Received = { bytes: 0, messages: 0 };
      const call = this.client.makeServerStreamRequest(
        RAW_STREAM_PATH,
        (request: Buffer) => request,
        (message: Buffer) => message,
        encodeRequest(totalBytes),
      );
      call.on("data", (message: Buffer) => {
        received.bytes += message.length;
        received.messages += 1;
      });
      call.once("error", reject);
      call.once("end", () => resolve(received));
    });
  }

  async stop(): Promise<void> {
    this.client.close();
    await this.server.stop();
  }
}
