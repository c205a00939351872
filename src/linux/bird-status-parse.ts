/**
 * What BIRD says about its BGP sessions and routes, parsed from the text of `show protocols all`
 * and `show route [for P] [protocol P] all` (as birdc prints it; pure). Formats are BIRD 2.0.12's
 * (proto/bgp/bgp.c bgp_show_proto_info, nest/rt-show.c), captured in
 * src/linux/golden/bird-*.txt. Fields BIRD leaves out in a state (timers before Established, the
 * last error after a clean start) are absent, not zero.
 */

export type BirdProtocolState = "up" | "start" | "stop" | "down" | "flush";
export type BirdFamily = "ipv4" | "ipv6";

/** "7.341/9": seconds left of a running timer and its configured length. */
export interface BirdTimer {
  readonly remaining: number;
  readonly configured: number;
}

export interface BgpChannelRoutes {
  readonly family: BirdFamily;
  /** Channel state: UP, DOWN, START, FEEDING… */
  readonly state: string;
  readonly imported: number;
  /** Only counted when the channel keeps filtered routes; 0 otherwise. */
  readonly filtered: number;
  readonly exported: number;
  readonly preferred: number;
  readonly nextHop?: string;
}

export interface BgpSessionFact {
  readonly protocol: string;
  readonly state: BirdProtocolState;
  /** BGP FSM state: Idle, Connect, Active, OpenSent, OpenConfirm, Established, Close. */
  readonly bgpState: string;
  /** Time of the last protocol state change, in BIRD's `timeformat protocol`. */
  readonly since: string;
  /** The Info column: the FSM state and, when not up, the last error. */
  readonly info: string;
  /** Address, or the range of a dynamic-neighbor template. */
  readonly neighbor?: string;
  readonly neighborAs?: number;
  readonly localAs?: number;
  readonly neighborId?: string;
  /** "internal multihop route-reflector AS4", "external AS4". */
  readonly session?: string;
  readonly sourceAddress?: string;
  readonly holdTimer?: BirdTimer;
  readonly keepaliveTimer?: BirdTimer;
  readonly connectDelay?: BirdTimer;
  readonly lastError?: string;
  readonly routes: readonly BgpChannelRoutes[];
}

const PROTOCOL_ROW =
  /^(\S+)\s+(\S+)\s+(\S+)\s+(up|start|stop|down|flush)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?|\S+)(?:\s+(.*?))?\s*$/;

const timer = (text: string): BirdTimer | undefined => {
  const m = /^(\d+(?:\.\d+)?)\/(\d+)/.exec(text);
  return m ? { remaining: Number(m[1]), configured: Number(m[2]) } : undefined;
};

const count = (text: string, what: string): number =>
  Number(new RegExp(`(\\d+) ${what}`).exec(text)?.[1] ?? 0);

interface Draft {
  protocol: string;
  state: BirdProtocolState;
  since: string;
  info: string;
  fields: Map<string, string>;
  channels: { family: BirdFamily; fields: Map<string, string> }[];
  isBgp: boolean;
}

function finish(d: Draft): BgpSessionFact {
  const f = d.fields;
  const num = (key: string) => (f.has(key) ? Number(f.get(key)) : undefined);
  const opt = <K extends string, V>(key: K, value: V | undefined) =>
    (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
  return {
    protocol: d.protocol,
    state: d.state,
    bgpState: f.get("BGP state") ?? d.info.split(/\s+/)[0] ?? "",
    since: d.since,
    info: d.info,
    ...opt("neighbor", f.get("Neighbor address") ?? f.get("Neighbor range")),
    ...opt("neighborAs", num("Neighbor AS")),
    ...opt("localAs", num("Local AS")),
    ...opt("neighborId", f.get("Neighbor ID")),
    ...opt("session", f.get("Session")),
    ...opt("sourceAddress", f.get("Source address")),
    ...opt("holdTimer", timer(f.get("Hold timer") ?? "")),
    ...opt("keepaliveTimer", timer(f.get("Keepalive timer") ?? "")),
    ...opt("connectDelay", timer(f.get("Connect delay") ?? "")),
    ...opt("lastError", f.get("Last error")),
    routes: d.channels.map((c) => {
      const routes = c.fields.get("Routes") ?? "";
      return {
        family: c.family,
        state: c.fields.get("State") ?? "",
        imported: count(routes, "imported"),
        filtered: count(routes, "filtered"),
        exported: count(routes, "exported"),
        preferred: count(routes, "preferred"),
        ...opt("nextHop", c.fields.get("BGP Next hop")),
      };
    }),
  };
}

/** `show protocols all` (or `show protocols all NAME`) → one fact per BGP protocol. */
export function parseBgpProtocols(text: string): BgpSessionFact[] {
  const out: BgpSessionFact[] = [];
  let draft: Draft | undefined;
  let channel: Draft["channels"][number] | undefined;
  const flush = () => {
    if (draft?.isBgp) out.push(finish(draft));
    draft = undefined;
    channel = undefined;
  };
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (!/^\s/.test(line)) {
      const row = PROTOCOL_ROW.exec(line);
      if (row === null || row[1] === "Name") continue; // header, greeting
      flush();
      draft = {
        protocol: row[1] as string,
        state: row[4] as BirdProtocolState,
        since: row[5] as string,
        info: (row[6] ?? "").replace(/\s{2,}/g, "  "),
        fields: new Map(),
        channels: [],
        isBgp: row[2] === "BGP",
      };
      continue;
    }
    if (draft === undefined) continue;
    const ch = /^ {2}Channel (ipv4|ipv6)\s*$/.exec(line);
    if (ch) {
      channel = { family: ch[1] as BirdFamily, fields: new Map() };
      draft.channels.push(channel);
      continue;
    }
    const kv = /^\s+([A-Za-z][A-Za-z0-9 ]*?):\s*(.*?)\s*$/.exec(line);
    if (!kv) continue;
    const fields = channel ?? draft;
    const key = kv[1] as string;
    // Capability lines ("AF announced: ipv4 ipv6") are not fields of the session.
    if (!fields.fields.has(key)) fields.fields.set(key, kv[2] as string);
  }
  flush();
  return out;
}

export interface BirdNextHop {
  readonly via?: string;
  readonly dev?: string;
  readonly weight?: number;
}

export interface LearnedRoute {
  readonly prefix: string;
  readonly family: BirdFamily;
  /** BIRD's table: master4, master6. */
  readonly table: string;
  /** unicast, blackhole, unreachable, prohibited. */
  readonly type: string;
  readonly protocol: string;
  readonly since: string;
  /** The address the route came from when it differs from the next hop (`from X`). */
  readonly from?: string;
  /** BIRD selected it (`*`): the one exported to the kernel. */
  readonly primary: boolean;
  readonly preference: number;
  readonly nextHops: readonly BirdNextHop[];
  /** First gateway of nextHops. */
  readonly via?: string;
  readonly bgpNextHop?: string;
  /** AS numbers of BGP.as_path, left (nearest) first; empty for routes from iBGP. */
  readonly asPath: readonly number[];
  readonly localPref?: number;
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
}

const ROUTE_HEAD = /^(\S+)?\s+([a-z]+)\s+\[(\S+) ([^\]]*?)(?: from (\S+))?\]\s+(\*)?\s*\((\d+)(?:\/[^)]*)?\)/;

/** `show route … all` (plain `show route` works too, without the BGP attributes). */
export function parseBirdRoutes(text: string): LearnedRoute[] {
  const out: LearnedRoute[] = [];
  let table = "";
  let prefix = "";
  let route: { -readonly [K in keyof LearnedRoute]: LearnedRoute[K] } | undefined;
  const nextHops: BirdNextHop[] = [];
  const flush = () => {
    if (route)
      out.push({ ...route, nextHops: [...nextHops], ...(nextHops[0]?.via ? { via: nextHops[0].via } : {}) });
    route = undefined;
    nextHops.length = 0;
  };
  for (const line of text.split("\n")) {
    const tableHead = /^Table (\S+):\s*$/.exec(line);
    if (tableHead) {
      flush();
      table = tableHead[1] as string;
      continue;
    }
    if (line.trim() === "") continue;
    const head = line.startsWith("\t") ? null : ROUTE_HEAD.exec(line);
    if (head) {
      flush();
      if (head[1] !== undefined) prefix = head[1];
      if (prefix === "") continue;
      route = {
        prefix,
        family: prefix.includes(":") ? "ipv6" : "ipv4",
        table,
        type: head[2] as string,
        protocol: head[3] as string,
        since: (head[4] as string).trim(),
        ...(head[5] ? { from: head[5] } : {}),
        primary: head[6] === "*",
        preference: Number(head[7]),
        nextHops: [],
        asPath: [],
      };
      continue;
    }
    if (route === undefined) continue;
    const body = line.trim();
    const hop = /^via (\S+)(?: on (\S+))?(?: weight (\d+))?/.exec(body);
    if (hop) {
      nextHops.push({
        via: hop[1] as string,
        ...(hop[2] ? { dev: hop[2] } : {}),
        ...(hop[3] ? { weight: Number(hop[3]) } : {}),
      });
      continue;
    }
    const dev = /^dev (\S+)/.exec(body);
    if (dev) {
      nextHops.push({ dev: dev[1] as string });
      continue;
    }
    const attr = /^BGP\.([a-z_]+):\s*(.*)$/.exec(body);
    if (!attr) continue;
    const value = attr[2] as string;
    switch (attr[1]) {
      case "as_path":
        route.asPath = (value.match(/\d+/g) ?? []).map(Number);
        break;
      case "next_hop":
        route.bgpNextHop = value.split(/\s+/)[0] as string;
        break;
      case "local_pref":
        route.localPref = Number(value);
        break;
      case "originator_id":
        route.originatorId = value;
        break;
      case "cluster_list":
        route.clusterList = value.split(/\s+/).filter((s) => s !== "");
        break;
    }
  }
  flush();
  return out;
}
