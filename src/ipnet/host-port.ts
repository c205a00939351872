/**
 * An address and port as URLs, iproute2 and conntrack write them (RFC 3986 §3.2.2): "10.0.0.1:80",
 * "[2001:db8::1]:80" — brackets keep an IPv6 address's colons apart from the port's. Without a port,
 * the bare host.
 */
export function hostPort(host: string, port: number | string | undefined): string {
  if (port === undefined) return host;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
