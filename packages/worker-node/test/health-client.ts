import { credentials as grpcCredentials, makeGenericClientConstructor, type ChannelCredentials, type Client } from "@grpc/grpc-js";

/**
 * A minimal grpc.health.v1 client: HealthCheckRequest{service=""} is empty on the wire, and
 * HealthCheckResponse is field 1 (the status enum), so two bytes are all there is to parse.
 */
const STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] as const;
const HealthService = makeGenericClientConstructor(
  {
    check: {
      path: "/grpc.health.v1.Health/Check",
      requestStream: false,
      responseStream: false,
      requestSerialize: () => Buffer.alloc(0),
      requestDeserialize: () => ({}),
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: (bytes: Buffer) => (bytes.length >= 2 && bytes[0] === 0x08 ? (bytes[1] ?? 0) : 0),
    },
  },
  "Health",
);

export class HealthClient {
  private readonly client: Client & { check: (request: object, callback: (error: Error | null, status: number) => void) => void };

  constructor(address: string, credentials: ChannelCredentials = grpcCredentials.createInsecure()) {
    this.client = new HealthService(address, credentials) as unknown as HealthClient["client"];
  }

  status(): Promise<(typeof STATUS)[number]> {
    return new Promise((resolve, reject) =>
      this.client.check({}, (error, status) => (error ? reject(error) : resolve(STATUS[status] ?? "UNKNOWN"))),
    );
  }

  close(): void {
    this.client.close();
  }
}
