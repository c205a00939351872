/**
 * The few messages of the CRI API (`runtime.v1`, kubernetes/cri-api pkg/apis/runtime/v1/api.proto)
 * the containerd test sends and reads, written with the protobuf wire codec instead of generated
 * code. Field numbers are the proto's; only the fields a kubelet-like caller needs are here.
 */
import { ProtoMessage, ProtoWriter } from "../../../testkit/protobuf-wire.ts";

/** NamespaceMode of api.proto: POD shares the sandbox's namespace, CONTAINER gives its own. */
export const NamespaceMode = { POD: 0, CONTAINER: 1, NODE: 2 } as const;
export type NamespaceMode = (typeof NamespaceMode)[keyof typeof NamespaceMode];

export interface PodSandboxMetadata {
  readonly name: string;
  readonly uid: string;
  readonly namespace: string;
  readonly attempt?: number;
}

export interface PodSandboxConfig {
  readonly metadata: PodSandboxMetadata;
  readonly hostname: string;
  /** Where containerd writes the containers' logs (ContainerConfig.logPath is relative to it). */
  readonly logDirectory?: string;
  readonly dns?: { readonly servers: readonly string[]; readonly searches?: readonly string[] };
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** LinuxPodSandboxConfig.cgroup_parent (cgroupfs syntax), as the kubelet always sets it. */
  readonly cgroupParent: string;
  /** The kubelet asks for CONTAINER (each container its own PID namespace) for v1 pods. */
  readonly pidMode?: NamespaceMode;
}

export interface ContainerConfig {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly envs?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  /** Relative to the sandbox's logDirectory. */
  readonly logPath?: string;
  /** As for the sandbox: CONTAINER unless asked otherwise, as the kubelet does. */
  readonly pidMode?: NamespaceMode;
}

function metadataMessage(m: PodSandboxMetadata): ProtoWriter {
  return new ProtoWriter()
    .string(1, m.name)
    .string(2, m.uid)
    .string(3, m.namespace)
    .int(4, m.attempt ?? 0);
}

/** NamespaceOption: the pod's network and IPC namespaces, the PID namespace as asked. */
function namespaceOptions(pid: NamespaceMode): ProtoWriter {
  return new ProtoWriter().int(1, NamespaceMode.POD).int(2, pid).int(3, NamespaceMode.POD);
}

function sandboxConfigMessage(c: PodSandboxConfig): ProtoWriter {
  const namespaces = namespaceOptions(c.pidMode ?? NamespaceMode.CONTAINER);
  const linux = new ProtoWriter()
    .string(1, c.cgroupParent)
    .message(2, new ProtoWriter().message(1, namespaces));
  const dns = c.dns && new ProtoWriter().strings(1, c.dns.servers).strings(2, c.dns.searches);
  return new ProtoWriter()
    .message(1, metadataMessage(c.metadata))
    .string(2, c.hostname)
    .string(3, c.logDirectory)
    .message(4, dns)
    .stringMap(6, c.labels)
    .stringMap(7, c.annotations)
    .message(8, linux);
}

function containerConfigMessage(c: ContainerConfig): ProtoWriter {
  const w = new ProtoWriter()
    .message(1, new ProtoWriter().string(1, c.name))
    .message(2, new ProtoWriter().string(1, c.image))
    .strings(3, c.command)
    .strings(4, c.args);
  for (const [key, value] of Object.entries(c.envs ?? {}))
    w.message(6, new ProtoWriter().string(1, key).string(2, value));
  // LinuxContainerConfig.security_context (2) .namespace_options (3).
  const linux = new ProtoWriter().message(
    2,
    new ProtoWriter().message(3, namespaceOptions(c.pidMode ?? NamespaceMode.CONTAINER)),
  );
  return w.stringMap(9, c.labels).string(11, c.logPath).message(15, linux);
}

/** Request encoders, one per RPC, named after it. */
export const encode = {
  version: (): Uint8Array => new ProtoWriter().string(1, "v1").finish(),
  runPodSandbox: (config: PodSandboxConfig, runtimeHandler = ""): Uint8Array =>
    new ProtoWriter().message(1, sandboxConfigMessage(config)).string(2, runtimeHandler).finish(),
  /** StopPodSandbox and RemovePodSandbox: the sandbox ID in field 1. */
  sandboxId: (id: string): Uint8Array => new ProtoWriter().string(1, id).finish(),
  podSandboxStatus: (id: string, verbose: boolean): Uint8Array =>
    new ProtoWriter().string(1, id).bool(2, verbose).finish(),
  listPodSandbox: (): Uint8Array => new ProtoWriter().finish(),
  createContainer: (sandboxId: string, config: ContainerConfig, sandbox: PodSandboxConfig): Uint8Array =>
    new ProtoWriter()
      .string(1, sandboxId)
      .message(2, containerConfigMessage(config))
      .message(3, sandboxConfigMessage(sandbox))
      .finish(),
  /** StartContainer, StopContainer (timeout in field 2) and RemoveContainer: the container ID in field 1. */
  containerId: (id: string, stopTimeoutSeconds = 0): Uint8Array =>
    new ProtoWriter().string(1, id).int(2, stopTimeoutSeconds).finish(),
  status: (verbose: boolean): Uint8Array => new ProtoWriter().bool(1, verbose).finish(),
  /** ImageService.ImageStatus: the image by reference, in an ImageSpec. */
  imageStatus: (image: string): Uint8Array =>
    new ProtoWriter().message(1, new ProtoWriter().string(1, image)).finish(),
  execSync: (containerId: string, cmd: readonly string[], timeoutSeconds: number): Uint8Array =>
    new ProtoWriter().string(1, containerId).strings(2, cmd).int(3, timeoutSeconds).finish(),
};

export interface VersionInfo {
  readonly version: string;
  readonly runtimeName: string;
  readonly runtimeVersion: string;
  readonly runtimeApiVersion: string;
}

export type SandboxState = "ready" | "notready";

export interface SandboxStatus {
  readonly id: string;
  readonly metadata: PodSandboxMetadata;
  readonly state: SandboxState;
  /** PodSandboxNetworkStatus.ip and additional_ips: what the CNI result gave the pod. */
  readonly ips: readonly string[];
  /** The verbose `info` map (JSON values), e.g. "info" with the sandbox's pid and netns path. */
  readonly info: Readonly<Record<string, string>>;
}

export interface SandboxListItem {
  readonly id: string;
  readonly metadata: PodSandboxMetadata;
  readonly state: SandboxState;
}

/** A RuntimeCondition: RuntimeReady and NetworkReady are the ones a kubelet requires. */
export interface RuntimeCondition {
  readonly type: string;
  readonly status: boolean;
  readonly reason: string;
  readonly message: string;
}

export interface RuntimeStatus {
  readonly conditions: readonly RuntimeCondition[];
  /** The verbose `info` map; containerd puts the CNI configuration it loaded under "cniconfig". */
  readonly info: Readonly<Record<string, string>>;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

function readMetadata(m: ProtoMessage | undefined): PodSandboxMetadata {
  return {
    name: m?.string(1) ?? "",
    uid: m?.string(2) ?? "",
    namespace: m?.string(3) ?? "",
    attempt: m?.int(4) ?? 0,
  };
}

/** PodSandboxState: SANDBOX_READY = 0, SANDBOX_NOTREADY = 1. */
function readState(m: ProtoMessage, field: number): SandboxState {
  return m.int(field) === 0 ? "ready" : "notready";
}

const text = new TextDecoder();

/** Response decoders, one per RPC that answers with something. */
export const decode = {
  version: (bytes: Uint8Array): VersionInfo => {
    const m = ProtoMessage.decode(bytes);
    return {
      version: m.string(1),
      runtimeName: m.string(2),
      runtimeVersion: m.string(3),
      runtimeApiVersion: m.string(4),
    };
  },
  /** RunPodSandboxResponse.pod_sandbox_id and CreateContainerResponse.container_id. */
  id: (bytes: Uint8Array): string => ProtoMessage.decode(bytes).string(1),
  podSandboxStatus: (bytes: Uint8Array): SandboxStatus => {
    const response = ProtoMessage.decode(bytes);
    const s = response.message(1);
    if (!s) throw new Error("PodSandboxStatusResponse carries no status");
    const network = s.message(5);
    const ips = network ? [network.string(1), ...network.messages(2).map((p) => p.string(1))] : [];
    return {
      id: s.string(1),
      metadata: readMetadata(s.message(2)),
      state: readState(s, 3),
      ips: ips.filter((ip) => ip !== ""),
      info: response.stringMap(2),
    };
  },
  listPodSandbox: (bytes: Uint8Array): SandboxListItem[] =>
    ProtoMessage.decode(bytes)
      .messages(1)
      .map((p) => ({ id: p.string(1), metadata: readMetadata(p.message(2)), state: readState(p, 3) })),
  status: (bytes: Uint8Array): RuntimeStatus => {
    const m = ProtoMessage.decode(bytes);
    const conditions = (m.message(1)?.messages(1) ?? []).map((c) => ({
      type: c.string(1),
      status: c.bool(2),
      reason: c.string(3),
      message: c.string(4),
    }));
    return { conditions, info: m.stringMap(2) };
  },
  /** The image's ID, or undefined when the runtime does not have it (the response carries no image). */
  imageStatus: (bytes: Uint8Array): string | undefined => ProtoMessage.decode(bytes).message(1)?.string(1),
  execSync: (bytes: Uint8Array): ExecResult => {
    const m = ProtoMessage.decode(bytes);
    return { stdout: text.decode(m.bytes(1)), stderr: text.decode(m.bytes(2)), exitCode: m.int(3) };
  },
  empty: (_bytes: Uint8Array): void => undefined,
};
