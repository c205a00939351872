/**
 * podnet's VXLAN convention, cluster-wide: every node must agree on the device name, the VNI and
 * the UDP port, so they are constants, not per-node settings (pure; the agent creates the device,
 * diagnosis predicts and checks it).
 */

/** The VXLAN device on every node. */
export const VXLAN_DEV = "podnet-vx";
/** The VXLAN network identifier every node's device uses. */
export const VXLAN_VNI = 4096;
/** The UDP destination port of the encapsulated traffic (IANA's VXLAN port). */
export const VXLAN_PORT = 4789;
