import { Metadata, type Client, type ServiceError } from "@grpc/grpc-js";
import { WORKER_SERVICE_NAME } from "@opencode-worker/shared";

/**
 * Any bytes as the request of a WorkerService RPC, from a plain grpc-js `Client`: serializers that
 * pass bytes through, so tests can send what no encoder would produce.
 */
const STREAMING = new Set(["StreamJob", "ReadArtifact", "ReadOutput"]);
const asIs = (bytes: Buffer): Buffer => bytes;

export interface RawOutcome {
  code: number;
  details: string;
  /** The response messages as received (one for a unary call that succeeded). */
  responses: Buffer[];
}

/** Sends `bytes` as the request of `rpc` (its name in the .proto) and resolves with the status it ends with. */
export function rawCall(client: Client, rpc: string, bytes: Buffer, deadlineMs?: number): Promise<RawOutcome> {
  const path = `/${WORKER_SERVICE_NAME}/${rpc}`;
  const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
  return new Promise((resolve) => {
    if (!STREAMING.has(rpc)) {
      client.makeUnaryRequest(path, asIs, asIs, bytes, new Metadata(), options, (error: ServiceError | null, response?: Buffer) =>
        resolve({ code: error?.code ?? 0, details: error?.details ?? "", responses: response ? [response] : [] }),
      );
      return;
    }
    const responses: Buffer[] = [];
    const call = client.makeServerStreamRequest(path, asIs, asIs, bytes, new Metadata(), options);
    call.on("data", (response: Buffer) => responses.push(response));
    call.on("error", (error: ServiceError) => resolve({ code: error.code, details: error.details, responses }));
    call.on("end", () => resolve({ code: 0, details: "", responses }));
  });
}
