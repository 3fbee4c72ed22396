import type { Server } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { WORKER_SERVICE_NAME } from "@opencode-worker/shared";

export type ServingStatus = "SERVING" | "NOT_SERVING";

/**
 * grpc.health.v1 for the whole server ("") and for WorkerService. NOT_SERVING while draining or when
 * the isolation probe refuses jobs, so load balancers and `grpc_health_probe` stop sending work.
 */
export class WorkerHealth {
  private readonly health = new HealthImplementation({ "": "SERVING", [WORKER_SERVICE_NAME]: "SERVING" });

  addToServer(server: Server): void {
    this.health.addToServer(server);
  }

  set(status: ServingStatus): void {
    this.health.setStatus("", status);
    this.health.setStatus(WORKER_SERVICE_NAME, status);
  }
}
