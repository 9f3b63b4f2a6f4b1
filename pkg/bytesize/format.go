package bytesize

import "strconv"

// units are the binary prefixes Format uses, one per power of 1024.
var units = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}

// Format returns n bytes for a person: "512 B", "1.5 KiB", "64 MiB",
// with at most one decimal, in powers of 1024 (as Parse reads suffixes).
func Format(n uint64) string {
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + " " + units[i]
}
