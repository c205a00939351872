import { describe, expect, test } from "bun:test";
import { agentArgvProblem } from "./bgp-lab-agents.ts";

describe("agentArgvProblem: the recorded pid must still be the node's agent", () => {
  const argv = ["/usr/local/bin/podnet", "agent", "--node-name", "node3", "--backend", "bgp"];
  test("the node's own agent passes", () => {
    expect(agentArgvProblem(argv, "node3")).toBeUndefined();
  });
  test("another node's agent, another program or an exited process does not", () => {
    expect(agentArgvProblem(argv, "node2")).toBe("it is not the agent of node node2");
    expect(agentArgvProblem(["/usr/bin/sleep", "100"], "node3")).toBe(
      'it runs "/usr/bin/sleep 100", not podnet agent',
    );
    expect(agentArgvProblem(["/usr/local/bin/podnet", "agent", "--node-name"], "node3")).toBe(
      "it is not the agent of node node3",
    );
    expect(agentArgvProblem([], "node3")).toBe("the process has exited");
  });
});
