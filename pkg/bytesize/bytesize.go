// Package bytesize parses the sizes operators type on command lines
// ("64M", "1G", "4096").
package bytesize

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// suffixes are binary multiples, as memory limits are usually meant.
var suffixes = map[byte]uint64{
	'K': 1 << 10,
	'M': 1 << 20,
	'G': 1 << 30,
	'T': 1 << 40,
}

// Parse returns the number of bytes in s: a decimal number, optionally
// followed by K, M, G or T (powers of 1024, either case). Anything else,
// including a value that overflows 64 bits, is errkind.InvalidSpec.
func Parse(s string) (uint64, error) {
	num, mult := s, uint64(1)
	if n := len(s); n > 0 {
		if m, ok := suffixes[strings.ToUpper(s[n-1:])[0]]; ok {
			num, mult = s[:n-1], m
		}
	}
	v, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is not a number of bytes with an optional K, M, G or T suffix: %w", s, errkind.InvalidSpec)
	}
	if v > math.MaxUint64/mult {
		return 0, fmt.Errorf("size %q is too large: %w", s, errkind.InvalidSpec)
	}
	return v * mult, nil
}
