/**
 * One nfnetlink transaction adding set and map elements (pure: element texts in, bytes out; the
 * answers are read back in nft-batch-outcome.ts), and the split of a large load into several such
 * transactions (splitLoads). The kernel applies a batch — BATCH_BEGIN,
 * NFT_MSG_NEWSETELEM messages, BATCH_END — all or nothing, as `nft -f` does with the same
 * messages. Written straight into one growing buffer rather than through codec.ts's Attr objects:
 * a full sync carries 100,000+ elements and this is the part of it meant to be cheap
 * (nft-attr-writer.ts holds the buffer, nft-element-text.ts the field parsers).
 *
 * Message layout (nf_tables.h): nlmsghdr, nfgenmsg, NFTA_SET_ELEM_LIST_TABLE, _SET, then the nested
 * NFTA_SET_ELEM_LIST_ELEMENTS of NFTA_LIST_ELEM { NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE },
 * NFTA_SET_ELEM_DATA { NFTA_DATA_VALUE | NFTA_DATA_VERDICT { CODE, CHAIN } } }. An attribute's length
 * is 16 bits, so a set with many elements takes several messages.
 */
import { NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST } from "./constants.ts";
import { attrWord, Writer } from "./nft-attr-writer.ts";
import {
  NF_ACCEPT,
  NF_DROP,
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  NFPROTO_UNSPEC,
  NFT_CHAIN_MAXNAMELEN,
  NFT_CONTINUE,
  NFT_GOTO,
  NFT_JUMP,
  NFT_MSG_NEWSETELEM,
  NFT_RETURN,
  NFTA_DATA_VERDICT,
  NFTA_LIST_ELEM,
  NFTA_SET_ELEM_DATA,
  NFTA_SET_ELEM_KEY,
  NFTA_SET_ELEM_LIST_ELEMENTS,
  NFTA_SET_ELEM_LIST_SET,
  NFTA_SET_ELEM_LIST_TABLE,
  NFTA_VERDICT_CHAIN,
  NFTA_VERDICT_CODE,
} from "./nft-constants.ts";
import { type ElementLayout, ElementSyntaxError, writeValue } from "./nft-element-types.ts";

export type NftFamily = "ip" | "ip6";

export interface ElementLoad {
  /** The set's or map's name in the table. */
  readonly name: string;
  readonly layout: ElementLayout;
  /** Elements as written inside nft's `elements = { … }`: `10.96.0.10 . tcp . 80 : goto svc-x`. */
  readonly elements: readonly string[];
}

export interface BatchMessage {
  readonly seq: number;
  readonly set: string;
  readonly elements: number;
}

export interface ElementBatch {
  readonly bytes: Uint8Array;
  /** The NEWSETELEM messages; none when there is no element at all (then bytes is empty). */
  readonly messages: readonly BatchMessage[];
  readonly beginSeq: number;
  readonly endSeq: number;
  readonly elements: number;
}

export interface BatchOptions {
  /**
   * Upper bound of one message (the nested element list's length must fit in 16 bits, and the
   * kernel allocates each message's attributes at once).
   */
  readonly maxMessageBytes?: number;
}

const DEFAULT_MAX_MESSAGE = 60 * 1024;
const MAX_ATTR_LEN = 0xffff;
/** Table and set names podnet uses; also what keeps a name from being mistaken by the kernel. */
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export class InvalidNftNameError extends Error {
  override readonly name = "InvalidNftNameError";
  constructor(what: string, value: string) {
    super(`Invalid nftables ${what} name "${value}": use letters, digits, "_" and "-" (at most 64)`);
  }
}

const familyNumber = (family: NftFamily): number => (family === "ip" ? NFPROTO_IPV4 : NFPROTO_IPV6);

const VERDICT_WORDS: Readonly<Record<string, number>> = {
  accept: NF_ACCEPT,
  drop: NF_DROP,
  continue: NFT_CONTINUE,
  return: NFT_RETURN,
};

/** `goto CHAIN`, `jump CHAIN` or a verdict word; returns why not, or undefined. */
function writeVerdict(w: Writer, text: string, from: number, to: number): string | undefined {
  while (from < to && text.charCodeAt(from) === 32) from++;
  while (to > from && text.charCodeAt(to - 1) === 32) to--;
  const word = text.startsWith("goto ", from) ? "goto" : text.startsWith("jump ", from) ? "jump" : "";
  const verdict = w.open(NFTA_DATA_VERDICT | NLA_F_NESTED);
  const code = w.open(NFTA_VERDICT_CODE);
  if (word === "") {
    const c = VERDICT_WORDS[text.slice(from, to)];
    if (c === undefined)
      return `"${text.slice(from, to)}" is not a verdict (accept, drop, continue, return, jump or goto a chain)`;
    w.view.setInt32(w.at, c, false);
    w.at += 4;
    w.close(code);
  } else {
    w.view.setInt32(w.at, word === "goto" ? NFT_GOTO : NFT_JUMP, false);
    w.at += 4;
    w.close(code);
    let s = from + 5;
    while (s < to && text.charCodeAt(s) === 32) s++;
    if (s === to || to - s >= NFT_CHAIN_MAXNAMELEN) return `"${text.slice(from, to)}" names no valid chain`;
    const chain = w.open(NFTA_VERDICT_CHAIN);
    for (let i = s; i < to; i++) {
      const c = text.charCodeAt(i);
      if (c <= 32 || c > 126) return `"${text.slice(from, to)}" names no valid chain`;
      w.bytes[w.at++] = c;
    }
    w.bytes[w.at++] = 0;
    w.close(chain);
  }
  w.close(verdict);
  return undefined;
}

/** Writes one NFTA_LIST_ELEM; returns why the element text is wrong, or undefined. */
function writeElement(w: Writer, layout: ElementLayout, text: string): string | undefined {
  const colon = text.indexOf(" : ");
  const data = layout.data;
  if (data.kind !== "none" && colon < 0) return 'a map element needs a key and data separated by " : "';
  if (data.kind === "none" && colon >= 0) return "a set element has no data";
  const elem = w.at;
  w.at += 4;
  const key = w.value(NFTA_SET_ELEM_KEY, layout.keyLength);
  const why = writeValue(layout.key, text, 0, data.kind === "none" ? text.length : colon, w.bytes, key);
  if (why !== undefined) return why;
  if (data.kind === "value") {
    const value = w.value(NFTA_SET_ELEM_DATA, data.length);
    const whyData = writeValue(data.fields, text, colon + 3, text.length, w.bytes, value);
    if (whyData !== undefined) return whyData;
  } else if (data.kind === "verdict") {
    const outer = w.open(NFTA_SET_ELEM_DATA | NLA_F_NESTED);
    const whyVerdict = writeVerdict(w, text, colon + 3, text.length);
    if (whyVerdict !== undefined) return whyVerdict;
    w.close(outer);
  }
  w.words[elem >> 2] = attrWord(NFTA_LIST_ELEM | NLA_F_NESTED, w.at - elem);
  return undefined;
}

/** Room one element can take at most: nesting headers, two 64-byte values or a chain name. */
const MAX_ELEMENT_BYTES = 4 * 8 + 2 * 64 + NFT_CHAIN_MAXNAMELEN + 8;

/**
 * Encodes one batch adding `sets`' elements to `family table`. Sets without elements are left out.
 * Throws ElementSyntaxError (naming set and element) for an element that does not fit its set's
 * layout, InvalidNftNameError for a table or set name podnet would not use. Sequence numbers run
 * from `seq` (BATCH_BEGIN) on.
 */
export function encodeElementBatch(
  family: NftFamily,
  table: string,
  sets: readonly ElementLoad[],
  seq: number,
  options: BatchOptions = {},
): ElementBatch {
  if (!NAME.test(table)) throw new InvalidNftNameError("table", table);
  for (const s of sets) if (!NAME.test(s.name)) throw new InvalidNftNameError("set", s.name);
  const maxMessage = Math.min(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE, MAX_ATTR_LEN);
  const total = sets.reduce((n, s) => n + s.elements.length, 0);
  if (total === 0) return { bytes: new Uint8Array(0), messages: [], beginSeq: seq, endSeq: seq, elements: 0 };
  const w = new Writer(total * 48 + 4096);
  const messages: BatchMessage[] = [];
  let nextSeq = seq;
  w.endMessage(
    w.header(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, nextSeq++, NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES),
  );
  const type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM;
  const flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK;
  for (const set of sets) {
    let i = 0;
    const where = `${set.name} of ${family} ${table}`;
    while (i < set.elements.length) {
      w.reserve(1024);
      const msgSeq = nextSeq++;
      const msg = w.header(type, flags, msgSeq, familyNumber(family), 0);
      w.cstring(NFTA_SET_ELEM_LIST_TABLE, table);
      w.cstring(NFTA_SET_ELEM_LIST_SET, set.name);
      const list = w.open(NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED);
      const first = i;
      while (i < set.elements.length) {
        w.reserve(MAX_ELEMENT_BYTES);
        const before = w.at;
        const text = set.elements[i] as string;
        const why = writeElement(w, set.layout, text);
        if (why !== undefined) throw new ElementSyntaxError(where, text, why);
        if (w.at - msg > maxMessage) {
          if (i === first)
            throw new ElementSyntaxError(where, text, `one element takes more than ${maxMessage} bytes`);
          w.rewind(before);
          break;
        }
        i++;
      }
      w.close(list);
      w.endMessage(msg);
      messages.push({ seq: msgSeq, set: set.name, elements: i - first });
    }
  }
  w.reserve(64);
  const endSeq = nextSeq;
  w.endMessage(w.header(NFNL_MSG_BATCH_END, NLM_F_REQUEST, endSeq, NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES));
  return { bytes: w.bytes.subarray(0, w.at), messages, beginSeq: seq, endSeq, elements: total };
}

/**
 * `sets`' elements in groups of at most `elementsPerBatch` elements, in order, each group one
 * batch (a set with more elements spans several); sets without elements are left out. None when
 * there is no element at all.
 */
export function splitLoads(sets: readonly ElementLoad[], elementsPerBatch: number): ElementLoad[][] {
  if (!Number.isInteger(elementsPerBatch) || elementsPerBatch < 1)
    throw new RangeError(`elementsPerBatch must be a positive integer, not ${elementsPerBatch}`);
  const batches: ElementLoad[][] = [];
  let current: ElementLoad[] = [];
  let room = elementsPerBatch;
  for (const set of sets) {
    for (let from = 0; from < set.elements.length; ) {
      const to = Math.min(set.elements.length, from + room);
      const whole = from === 0 && to === set.elements.length;
      current.push(whole ? set : { ...set, elements: set.elements.slice(from, to) });
      room -= to - from;
      from = to;
      if (room === 0) {
        batches.push(current);
        current = [];
        room = elementsPerBatch;
      }
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
