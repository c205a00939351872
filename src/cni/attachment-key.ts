/**
 * One attachment of a container to a network. The CNI specification keys a plugin's state by
 * exactly this triple ("Plugins that store state should do so using a primary key of (network
 * name, CNI_CONTAINERID, CNI_IFNAME)"), so podnet's node state, its host veth names and the GC's
 * list of attachments to keep all use it.
 */
export interface AttachmentKey {
  readonly network: string;
  readonly containerId: string;
  readonly ifname: string;
}
