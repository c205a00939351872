/** The kernel requests behind each planned `ip` operation, sent over one rtnetlink socket. */
import { closeSync, openSync } from "node:fs";
import { unhandled } from "../../base/unhandled.ts";
import type { IPAddress } from "../../ipnet/address.ts";
import type { Attr } from "./codec.ts";
import { attr, cstringOf, decodeAttrs, ifaddrmsg, ifinfomsg, macOf, rtmsg, u32Of } from "./codec.ts";
import * as K from "./constants.ts";
import type { IpOp, LinkSpec } from "./ip-op.ts";
import { NetlinkError, type RtnlSocket } from "./socket.ts";

export interface NetlinkLink {
  readonly ifindex: number;
  readonly ifname: string;
  readonly address?: string;
  readonly mtu?: number;
  readonly up: boolean;
  readonly masterIndex?: number;
  readonly kind?: string;
  readonly alias?: string;
}

function ipBytes(ip: IPAddress): Uint8Array {
  const n = ip.family === 4 ? 4 : 16;
  const out = new Uint8Array(n);
  let v = ip.value;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

const afOf = (ip: IPAddress): number => (ip.family === 4 ? K.AF_INET : K.AF_INET6);

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(":"), (h) => Number.parseInt(h, 16));
}

function linkAttrs(l: LinkSpec): Attr[] {
  const attrs: Attr[] = [attr.cstring(K.IFLA_IFNAME, l.name)];
  if (l.mac) attrs.push(attr.bytes(K.IFLA_ADDRESS, macBytes(l.mac)));
  if (l.mtu !== undefined) attrs.push(attr.u32(K.IFLA_MTU, l.mtu));
  return attrs;
}

function parseLink(body: Uint8Array): NetlinkLink {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const a = decodeAttrs(body, K.IFINFOMSG_LEN);
  const info = a.get(K.IFLA_LINKINFO);
  const kind = info ? cstringOf(decodeAttrs(info, 0).get(K.IFLA_INFO_KIND)) : undefined;
  const master = u32Of(a.get(K.IFLA_MASTER));
  const alias = cstringOf(a.get(K.IFLA_IFALIAS));
  const mtu = u32Of(a.get(K.IFLA_MTU));
  const address = macOf(a.get(K.IFLA_ADDRESS));
  return {
    ifindex: view.getInt32(4, true),
    ifname: cstringOf(a.get(K.IFLA_IFNAME)) ?? "",
    up: (view.getUint32(8, true) & K.IFF_UP) !== 0,
    ...(address ? { address } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
    ...(master ? { masterIndex: master } : {}),
    ...(kind ? { kind } : {}),
    ...(alias ? { alias } : {}),
  };
}

/** The link named `name`, or undefined (ENODEV). */
export function getLinkByName(sock: RtnlSocket, name: string): NetlinkLink | undefined {
  try {
    const [reply] = sock.request(
      K.RTM_GETLINK,
      0,
      ifinfomsg(),
      [attr.cstring(K.IFLA_IFNAME, name)],
      `get link "${name}"`,
    );
    return reply ? parseLink(reply.body) : undefined;
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === 19) return undefined;
    throw e;
  }
}

export function getLinkByIndex(sock: RtnlSocket, index: number): NetlinkLink | undefined {
  try {
    const [reply] = sock.request(K.RTM_GETLINK, 0, ifinfomsg(index), [], `get link ${index}`);
    return reply ? parseLink(reply.body) : undefined;
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === 19) return undefined;
    throw e;
  }
}

/** Thrown for a device name that does not resolve, worded as iproute2 words it. */
export class NoSuchDeviceError extends NetlinkError {
  constructor(readonly dev: string) {
    super(19, `Cannot find device "${dev}"`);
  }
}

/** Carries out planned operations; keeps a name → index cache for the batch. */
export class RtnlExecutor {
  private readonly indexes = new Map<string, number>();

  constructor(private readonly sock: RtnlSocket) {}

  private index(dev: string): number {
    const known = this.indexes.get(dev);
    if (known !== undefined) return known;
    const link = getLinkByName(this.sock, dev);
    if (!link) throw new NoSuchDeviceError(dev);
    this.indexes.set(dev, link.ifindex);
    return link.ifindex;
  }

  private setLink(dev: string, what: string, attrs: Attr[], flags = 0, change = 0): void {
    this.sock.request(K.RTM_NEWLINK, 0, ifinfomsg(this.index(dev), flags, change), attrs, what);
  }

  apply(op: IpOp): void {
    const create = K.NLM_F_CREATE | K.NLM_F_EXCL;
    switch (op.op) {
      case "add-bridge":
        this.sock.request(
          K.RTM_NEWLINK,
          create,
          ifinfomsg(),
          [...linkAttrs(op.link), attr.nested(K.IFLA_LINKINFO, [attr.string(K.IFLA_INFO_KIND, "bridge")])],
          `create bridge "${op.link.name}"`,
        );
        return;
      case "add-veth": {
        const nsFd = op.peerNetns !== undefined ? openSync(op.peerNetns, "r") : undefined;
        try {
          const peer = [
            ...linkAttrs(op.peer),
            ...(nsFd !== undefined ? [attr.u32(K.IFLA_NET_NS_FD, nsFd)] : []),
          ];
          const data = attr.nested(K.IFLA_INFO_DATA, [attr.nested(K.VETH_INFO_PEER, peer, ifinfomsg())]);
          this.sock.request(
            K.RTM_NEWLINK,
            create,
            ifinfomsg(),
            [
              ...linkAttrs(op.link),
              attr.nested(K.IFLA_LINKINFO, [attr.string(K.IFLA_INFO_KIND, "veth"), data]),
            ],
            `create veth "${op.link.name}" with peer "${op.peer.name}"`,
          );
        } finally {
          if (nsFd !== undefined) closeSync(nsFd);
        }
        return;
      }
      case "del-link":
        this.sock.request(K.RTM_DELLINK, 0, ifinfomsg(this.index(op.dev)), [], `delete link "${op.dev}"`);
        this.indexes.delete(op.dev);
        return;
      case "set-up":
        this.setLink(op.dev, `set "${op.dev}" up`, [], K.IFF_UP, K.IFF_UP);
        return;
      case "set-master":
        this.setLink(op.dev, `attach "${op.dev}" to "${op.master}"`, [
          attr.u32(K.IFLA_MASTER, this.index(op.master)),
        ]);
        return;
      case "set-alias":
        this.setLink(op.dev, `set alias of "${op.dev}"`, [attr.string(K.IFLA_IFALIAS, op.alias)]);
        return;
      case "set-hairpin":
        this.setLink(op.dev, `set hairpin on "${op.dev}"`, [
          attr.nested(K.IFLA_LINKINFO, [
            attr.string(K.IFLA_INFO_SLAVE_KIND, "bridge"),
            attr.nested(K.IFLA_INFO_SLAVE_DATA, [attr.u8(K.IFLA_BRPORT_MODE, op.on ? 1 : 0)]),
          ]),
        ]);
        return;
      case "addr": {
        const flags = op.nodad ? K.IFA_F_NODAD : 0;
        // iproute2 gives loopback-range IPv4 addresses host scope; everything else is universe
        // (the kernel derives IPv6 scopes itself).
        const scope =
          op.ip.family === 4 && op.ip.value >> 24n === 127n ? K.RT_SCOPE_HOST : K.RT_SCOPE_UNIVERSE;
        const bytes = ipBytes(op.ip);
        this.sock.request(
          K.RTM_NEWADDR,
          K.NLM_F_CREATE | (op.replace ? K.NLM_F_REPLACE : K.NLM_F_EXCL),
          ifaddrmsg(afOf(op.ip), op.prefixLength, flags, scope, this.index(op.dev)),
          [attr.bytes(K.IFA_LOCAL, bytes), attr.bytes(K.IFA_ADDRESS, bytes), attr.u32(K.IFA_FLAGS, flags)],
          `${op.replace ? "replace" : "add"} address on "${op.dev}"`,
        );
        return;
      }
      case "route-add": {
        const family = op.dst.family === 4 ? K.AF_INET : K.AF_INET6;
        // Like iproute2: an IPv4 route without a gateway is on-link (scope link).
        const scope =
          op.scopeLink || (!op.via && op.dst.family === 4) ? K.RT_SCOPE_LINK : K.RT_SCOPE_UNIVERSE;
        const attrs: Attr[] = [
          attr.bytes(K.RTA_DST, ipBytes(op.dst.network)),
          attr.u32(K.RTA_OIF, this.index(op.dev)),
        ];
        if (op.via) attrs.push(attr.bytes(K.RTA_GATEWAY, ipBytes(op.via)));
        if (op.src) attrs.push(attr.bytes(K.RTA_PREFSRC, ipBytes(op.src)));
        this.sock.request(
          K.RTM_NEWROUTE,
          K.NLM_F_CREATE | K.NLM_F_EXCL,
          rtmsg({
            family,
            dstLen: op.dst.length,
            table: K.RT_TABLE_MAIN,
            protocol: K.RTPROT_BOOT,
            scope,
            type: K.RTN_UNICAST,
          }),
          attrs,
          `add route on "${op.dev}"`,
        );
        return;
      }
      default: {
        unhandled(op, (shown) => new Error(`unknown operation ${shown}`));
      }
    }
  }
}
