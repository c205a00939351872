/**
 * nf_tables numbers from the kernel's uapi headers (linux/netfilter/nfnetlink.h,
 * linux/netfilter/nf_tables.h, linux/netfilter.h, linux/netlink.h, asm-generic/socket.h): what a
 * batch of NFT_MSG_NEWSETELEM messages is made of, and the socket options the loader sets.
 */

export const NETLINK_NETFILTER = 12;

/** nfnetlink.h: the subsystem is the high byte of a message type. */
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNETLINK_V0 = 0;
/** Control messages framing a transaction (NLMSG_MIN_TYPE and the one after it). */
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;
/** struct nfgenmsg: family u8, version u8, res_id be16. */
export const NFGENMSG_LEN = 4;

/** netfilter.h protocol families of nfgenmsg. */
export const NFPROTO_UNSPEC = 0;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;

/** enum nf_tables_msg_types. */
export const NFT_MSG_NEWSETELEM = 12;

/** enum nft_set_elem_list_attributes. */
export const NFTA_SET_ELEM_LIST_TABLE = 1;
export const NFTA_SET_ELEM_LIST_SET = 2;
export const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
/** enum nft_list_attributes. */
export const NFTA_LIST_ELEM = 1;
/** enum nft_set_elem_attributes. */
export const NFTA_SET_ELEM_KEY = 1;
export const NFTA_SET_ELEM_DATA = 2;
/** enum nft_data_attributes. */
export const NFTA_DATA_VALUE = 1;
export const NFTA_DATA_VERDICT = 2;
/** enum nft_verdict_attributes. */
export const NFTA_VERDICT_CODE = 1;
export const NFTA_VERDICT_CHAIN = 2;

/** Verdict codes: NF_DROP, NF_ACCEPT (netfilter.h) and enum nft_verdicts (negative). */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
export const NFT_CONTINUE = -1;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;
export const NFT_RETURN = -5;

/** NFT_NAME_MAXLEN and NFT_CHAIN_MAXNAMELEN include the terminating NUL. */
export const NFT_CHAIN_MAXNAMELEN = 256;
/** NFT_REG32_SIZE: each field of a concatenation takes a whole number of 32-bit registers. */
export const NFT_REG32_SIZE = 4;

/** Socket options (asm-generic/socket.h, linux/netlink.h). */
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SOL_NETLINK = 270;
export const NETLINK_CAP_ACK = 10;

export const MSG_DONTWAIT = 0x40;
export const EAGAIN = 11;
export const EINTR = 4;
export const EPERM = 1;
