/**
 * grpc.health.v1.Health/Check, the standard health service the worker serves (as load balancers and
 * `grpc_health_probe` ask it). Its two messages have one field each, so they are coded here by hand
 * rather than generated: HealthCheckRequest { string service = 1 }, HealthCheckResponse { ServingStatus status = 1 }.
 */

/** What the worker says of itself: NOT_SERVING while it drains or its isolation refuses jobs. */
export type HealthStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

/** ServingStatus's numbers, in order. */
const STATUSES: readonly HealthStatus[] = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;

export const HEALTH_CHECK = {
  path: "/grpc.health.v1.Health/Check",
  requestSerialize(service: string): Buffer {
    if (service === "") return Buffer.alloc(0); // proto3 leaves a default value off the wire
    const bytes = Buffer.from(service, "utf8");
    return Buffer.concat([Buffer.from([(1 << 3) | WIRE_LENGTH_DELIMITED, ...varint(bytes.length)]), bytes]);
  },
  responseDeserialize(bytes: Buffer): HealthStatus {
    let at = 0;
    let status = 0;
    const read = (): number => {
      let value = 0;
      for (let shift = 0; at < bytes.length; shift += 7) {
        const byte = bytes[at++]!;
        value += (byte & 0x7f) * 2 ** shift;
        if (byte < 0x80) break;
      }
      return value;
    };
    while (at < bytes.length) {
      const tag = read();
      if ((tag & 7) === WIRE_VARINT) {
        const value = read();
        if (tag >>> 3 === 1) status = value;
      } else if ((tag & 7) === WIRE_LENGTH_DELIMITED) {
        at += read(); // a field a newer health.proto may add
      } else {
        break;
      }
    }
    return STATUSES[status] ?? "UNKNOWN";
  },
};

function varint(value: number): number[] {
  const bytes: number[] = [];
  for (; value >= 0x80; value = Math.floor(value / 128)) bytes.push((value & 0x7f) | 0x80);
  bytes.push(value);
  return bytes;
}
