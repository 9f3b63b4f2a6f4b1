// Package network gives containers their network, as Guardian's built-in
// networker does (reference guardian-internals §5), from allocation to
// devices to NAT, and takes it all away again. Sub-packages hold the
// parts: subnet and port (allocators, pure), link (bridge and veth, via
// netlink), nft (gdn's nftables table).
//
// State, under Config.StateDir (default /var/lib/gdn/net):
//
//	subnets.json            the subnet pool (subnet.Update)
//	ports.json              the port pool (port.Update)
//	containers/<handle>.json one container's network: written before any
//	                        device is made, so that Down, or Cleanup
//	                        after a crash, finds everything to remove
//	locks/subnet-<s>.lock   held by Up while it makes a container's
//	                        devices, and by Down while it removes them
//	                        and, as the subnet's last, its bridge and NAT
//	busy.lock               shared by every change, exclusive for Cleanup
package network
