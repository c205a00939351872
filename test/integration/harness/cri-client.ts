/**
 * A CRI client, the calls a kubelet makes to bring a pod up and down: `runtime.v1.RuntimeService`
 * over gRPC on the runtime's unix socket, with the hand-written messages of cri-messages.ts.
 */
import * as grpc from "@grpc/grpc-js";
import {
  type ContainerConfig,
  decode,
  type ExecResult,
  encode,
  type PodSandboxConfig,
  type RuntimeStatus,
  type SandboxListItem,
  type SandboxStatus,
  type VersionInfo,
} from "./cri-messages.ts";

/** The CRI package; methods are named "RuntimeService/Version", "ImageService/ImageStatus"... */
const PACKAGE = "runtime.v1";

export class CriCallError extends Error {
  override readonly name = "CriCallError";
  constructor(
    readonly method: string,
    readonly code: grpc.status | undefined,
    details: string,
  ) {
    super(`CRI ${method} failed${code === undefined ? "" : ` (${grpc.status[code]})`}: ${details}`);
  }
}

export class CriClient {
  private readonly client: grpc.Client;

  /** `socketPath`: the runtime's gRPC socket (containerd's grpc.address). */
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 60_000,
  ) {
    this.client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
  }

  private call<T>(
    method: string,
    request: Uint8Array,
    read: (bytes: Uint8Array) => T,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest<Uint8Array, Buffer>(
        `/${PACKAGE}.${method}`,
        (value) => Buffer.from(value),
        (bytes) => bytes,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          if (error) {
            reject(new CriCallError(method, error.code, error.details || error.message));
            return;
          }
          try {
            resolve(read(new Uint8Array(response ?? Buffer.alloc(0))));
          } catch (e) {
            reject(
              new CriCallError(method, undefined, `cannot decode the response: ${(e as Error).message}`),
            );
          }
        },
      );
    });
  }

  version(timeoutMs?: number): Promise<VersionInfo> {
    return this.call("RuntimeService/Version", encode.version(), decode.version, timeoutMs);
  }

  /** The runtime's conditions (NetworkReady: a CNI config is loaded) and, verbose, what it loaded. */
  status(verbose = false): Promise<RuntimeStatus> {
    return this.call("RuntimeService/Status", encode.status(verbose), decode.status);
  }

  /** Creates and starts the sandbox, the network set up by the CNI ADD; resolves with its ID. */
  runPodSandbox(config: PodSandboxConfig): Promise<string> {
    return this.call("RuntimeService/RunPodSandbox", encode.runPodSandbox(config), decode.id);
  }

  podSandboxStatus(id: string, verbose = false): Promise<SandboxStatus> {
    return this.call(
      "RuntimeService/PodSandboxStatus",
      encode.podSandboxStatus(id, verbose),
      decode.podSandboxStatus,
    );
  }

  listPodSandbox(): Promise<SandboxListItem[]> {
    return this.call("RuntimeService/ListPodSandbox", encode.listPodSandbox(), decode.listPodSandbox);
  }

  /** Kills the sandbox's containers and tears its network down (CNI DEL). */
  stopPodSandbox(id: string): Promise<void> {
    return this.call("RuntimeService/StopPodSandbox", encode.sandboxId(id), decode.empty);
  }

  removePodSandbox(id: string): Promise<void> {
    return this.call("RuntimeService/RemovePodSandbox", encode.sandboxId(id), decode.empty);
  }

  createContainer(sandboxId: string, config: ContainerConfig, sandbox: PodSandboxConfig): Promise<string> {
    return this.call(
      "RuntimeService/CreateContainer",
      encode.createContainer(sandboxId, config, sandbox),
      decode.id,
    );
  }

  startContainer(id: string): Promise<void> {
    return this.call("RuntimeService/StartContainer", encode.containerId(id), decode.empty);
  }

  /** Runs `cmd` in the container and waits for it (at most `timeoutSeconds`). */
  execSync(containerId: string, cmd: readonly string[], timeoutSeconds = 10): Promise<ExecResult> {
    return this.call(
      "RuntimeService/ExecSync",
      encode.execSync(containerId, cmd, timeoutSeconds),
      decode.execSync,
      (timeoutSeconds + 10) * 1000,
    );
  }

  /** Whether the CRI plugin knows the image (imported images reach it through an event). */
  async hasImage(image: string): Promise<boolean> {
    return (
      (await this.call("ImageService/ImageStatus", encode.imageStatus(image), decode.imageStatus)) !==
      undefined
    );
  }

  close(): void {
    this.client.close();
  }
}
