/**
 * The plugin's side of agent-protocol.ts: send the operation to the node agent's socket and wait
 * for its answer. Three outcomes, and what each means for a runtime:
 * - served: the agent did the work; its answer is the plugin's answer;
 * - not served (no agent, it declined, or it closed before accepting): nothing was done, so the
 *   plugin does the work itself, exactly as without an agent;
 * - lost (the agent accepted and then vanished): the work may be half done. The runtime is told
 *   to try again later, and the DEL it sends first cleans up like after a killed plugin.
 */
import { encodeLine, parseReply, type RelayRequest } from "./agent-protocol.ts";

export type RelayOutcome =
  | { readonly kind: "served"; readonly exitCode: number; readonly stdout: string }
  | { readonly kind: "not-served"; readonly reason: string }
  | { readonly kind: "lost"; readonly reason: string };

/**
 * A bound on waiting for `accepted` (the agent works through concurrent operations one at a time):
 * an agent whose loop hangs must not hang every pod on the node for ever.
 */
export const ACCEPT_TIMEOUT_MS = 30_000;

export async function relayToAgent(socketPath: string, request: RelayRequest): Promise<RelayOutcome> {
  let buffered = "";
  let accepted = false;
  return await new Promise<RelayOutcome>((resolve) => {
    let settled = false;
    const settle = (outcome: RelayOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const timer = setTimeout(
      () =>
        settle({
          kind: "lost",
          reason: `the podnet agent at ${socketPath} did not take the operation within ${ACCEPT_TIMEOUT_MS / 1000} s`,
        }),
      ACCEPT_TIMEOUT_MS,
    );
    const closed = () =>
      settle(
        accepted
          ? {
              kind: "lost",
              reason: `the podnet agent at ${socketPath} closed the connection before answering`,
            }
          : { kind: "not-served", reason: "the agent closed the connection before accepting" },
      );
    Bun.connect({
      unix: socketPath,
      socket: {
        open(socket) {
          socket.write(encodeLine(request));
        },
        data(socket, chunk) {
          buffered += chunk.toString();
          for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
            const reply = parseReply(buffered.slice(0, nl));
            buffered = buffered.slice(nl + 1);
            // Settled before end(): ending the socket runs the close handler at once.
            if (reply === undefined) {
              settle(
                accepted
                  ? { kind: "lost", reason: `the podnet agent at ${socketPath} answered in an unknown form` }
                  : { kind: "not-served", reason: "the agent answered in an unknown form" },
              );
              socket.end();
              return;
            }
            if ("accepted" in reply) {
              accepted = true;
              clearTimeout(timer);
            } else if ("declined" in reply) {
              settle({ kind: "not-served", reason: reply.declined });
              socket.end();
            } else {
              settle({ kind: "served", exitCode: reply.exitCode, stdout: reply.stdout });
              socket.end();
            }
          }
        },
        close: closed,
        error: closed,
        connectError(_socket, e) {
          settle({ kind: "not-served", reason: `no agent at ${socketPath}: ${e.message}` });
        },
      },
    }).catch((e: unknown) =>
      settle({ kind: "not-served", reason: `no agent at ${socketPath}: ${(e as Error).message}` }),
    );
  });
}
