package subnet

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
)

// The pool file is read and written by every up and down, under a lock
// that serialises them all, and it names every subnet in use: with 1000
// containers encoding/json's reflection over netip's text methods cost
// 2-3 ms of CPU a read and write in a fresh gdn-net process. The file
// keeps its JSON shape (operators and tests read it with jq); these
// methods write it directly and read the shape they write directly,
// leaving anything else (a file edited by hand, with spaces or escapes)
// to encoding/json.

// MarshalJSON writes the pool with its subnets in order.
func (p *Pool) MarshalJSON() ([]byte, error) {
	// In order of address, then length. Pools hold IPv4 only (NewPool,
	// ParseRequest), sorted as integers: netip.Prefix.Compare masks both
	// prefixes at every comparison, most of the cost with 1000 subnets.
	keys := make([]uint64, 0, len(p.Allocated))
	for s := range p.Allocated {
		if !s.Addr().Is4() {
			keys = nil
			break
		}
		a := s.Addr().As4()
		keys = append(keys, uint64(a[0])<<32|uint64(a[1])<<24|uint64(a[2])<<16|uint64(a[3])<<8|uint64(s.Bits()))
	}
	subnets := make([]netip.Prefix, 0, len(p.Allocated))
	if keys != nil {
		slices.Sort(keys)
		for _, k := range keys {
			subnets = append(subnets, netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(k >> 32), byte(k >> 24), byte(k >> 16), byte(k >> 8)}), int(k&0xff)))
		}
	} else {
		for s := range p.Allocated {
			subnets = append(subnets, s)
		}
		slices.SortFunc(subnets, netip.Prefix.Compare)
	}
	b := make([]byte, 0, 64+len(subnets)*40)
	b = append(b, `{"dynamic":"`...)
	b = p.Dynamic.AppendTo(b)
	b = append(b, `","allocated":{`...)
	for i, s := range subnets {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = s.AppendTo(b)
		b = append(b, `":[`...)
		for j, ip := range p.Allocated[s] {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = ip.AppendTo(b)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	return append(b, "}}"...), nil
}

// poolJSON is the pool's shape for encoding/json, without the methods.
type poolJSON struct {
	Dynamic   netip.Prefix                  `json:"dynamic"`
	Allocated map[netip.Prefix][]netip.Addr `json:"allocated"`
}

// UnmarshalJSON reads what MarshalJSON writes directly, and any other
// JSON of the same shape through encoding/json.
func (p *Pool) UnmarshalJSON(data []byte) error {
	if q, ok := decodeCompact(data); ok {
		*p = q
		return nil
	}
	var v poolJSON
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*p = Pool(v)
	return nil
}

// decodeCompact parses MarshalJSON's output; ok is false for anything
// else, which UnmarshalJSON then hands to encoding/json (so a file that
// only looks wrong here is judged there).
func decodeCompact(data []byte) (_ Pool, ok bool) {
	d := compactDecoder{rest: data}
	// One allocation for the map and one for every subnet's IPs (each
	// subnet's slice is capped, so that an append copies it out).
	subnets := bytes.Count(data, []byte("["))
	p := Pool{Allocated: make(map[netip.Prefix][]netip.Addr, subnets)}
	all := make([]netip.Addr, 0, subnets)
	if !d.lit(`{"dynamic":`) {
		return Pool{}, false
	}
	dyn, ok := d.str()
	if !ok || p.Dynamic.UnmarshalText(dyn) != nil || !d.lit(`,"allocated":{`) {
		return Pool{}, false
	}
	for first := true; !d.lit("}"); first = false {
		if !first && !d.lit(",") {
			return Pool{}, false
		}
		key, ok := d.str()
		var s netip.Prefix
		if !ok || s.UnmarshalText(key) != nil || !d.lit(":[") {
			return Pool{}, false
		}
		from := len(all)
		for firstIP := true; !d.lit("]"); firstIP = false {
			if !firstIP && !d.lit(",") {
				return Pool{}, false
			}
			v, ok := d.str()
			var ip netip.Addr
			if !ok || ip.UnmarshalText(v) != nil {
				return Pool{}, false
			}
			all = append(all, ip)
		}
		if _, dup := p.Allocated[s]; dup {
			return Pool{}, false
		}
		p.Allocated[s] = all[from:len(all):len(all)]
	}
	if !d.lit("}") || len(d.rest) != 0 {
		return Pool{}, false
	}
	return p, true
}

// compactDecoder reads JSON without white space, token by token.
type compactDecoder struct{ rest []byte }

// lit consumes s if the input starts with it.
func (d *compactDecoder) lit(s string) bool {
	if !bytes.HasPrefix(d.rest, []byte(s)) {
		return false
	}
	d.rest = d.rest[len(s):]
	return true
}

// str consumes a string without escapes and returns its content.
func (d *compactDecoder) str() ([]byte, bool) {
	if len(d.rest) == 0 || d.rest[0] != '"' {
		return nil, false
	}
	end := bytes.IndexByte(d.rest[1:], '"')
	if end < 0 {
		return nil, false
	}
	s := d.rest[1 : 1+end]
	if bytes.IndexByte(s, '\\') >= 0 {
		return nil, false
	}
	d.rest = d.rest[2+end:]
	return s, true
}
