package network

import (
	"fmt"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/network/link"
)

// ethHeader is what a frame adds to an IP packet of MTU bytes; a token
// bucket must hold a whole frame, or full-size packets never pass.
const ethHeader = 14

// checkBandwidth refuses a limit that cannot work. Errors:
// errkind.InvalidSpec.
func (n *Networker) checkBandwidth(bw link.Bandwidth) error {
	switch {
	case bw.Rate == 0:
		return fmt.Errorf("bandwidth limit: rate must be above 0 bytes/s: %w", errkind.InvalidSpec)
	case bw.Burst < uint64(n.cfg.MTU+ethHeader):
		return fmt.Errorf("bandwidth limit: burst %d bytes is below one full frame (MTU %d + %d): no full-size packet could pass: %w",
			bw.Burst, n.cfg.MTU, ethHeader, errkind.InvalidSpec)
	}
	return nil
}

// SetBandwidth limits container h's traffic each way to bw (Rate and
// Burst both 0 remove the limit), replacing any limit it had. The limit is
// recorded first, so that Down removes what it adds. Errors:
// errkind.ContainerNotFound, errkind.InvalidSpec.
func (n *Networker) SetBandwidth(h string, bw link.Bandwidth) (*State, error) {
	remove := bw == link.Bandwidth{}
	if !remove {
		if err := n.checkBandwidth(bw); err != nil {
			return nil, err
		}
	}
	busy, err := n.busy()
	if err != nil {
		return nil, err
	}
	defer busy.Release()
	st, err := n.Show(h)
	if err != nil {
		return nil, err
	}
	if remove {
		if st.Ifb != "" || st.Bandwidth != nil {
			if err := link.ClearBandwidth(st.HostIf, st.Ifb, n.Owner()); err != nil {
				return nil, err
			}
		}
		st.Bandwidth, st.Ifb = nil, ""
		return st, n.save(st)
	}
	old := st.Bandwidth
	st.Bandwidth = &bw
	if st.Ifb == "" {
		st.Ifb = st.HostIf[:len(st.HostIf)-len("-0")] + "-i"
	}
	if err := n.save(st); err != nil {
		return nil, err
	}
	if err := link.SetBandwidth(st.HostIf, st.Ifb, n.Owner()+" "+h, bw); err != nil {
		// Back to what was, so the state tells the truth.
		_ = link.ClearBandwidth(st.HostIf, st.Ifb, n.Owner())
		st.Bandwidth = old
		if old == nil || link.SetBandwidth(st.HostIf, st.Ifb, n.Owner()+" "+h, *old) != nil {
			st.Bandwidth, st.Ifb = nil, ""
		}
		_ = n.save(st)
		return nil, fmt.Errorf("bandwidth of %q: %w", h, err)
	}
	return st, nil
}
