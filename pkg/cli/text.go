package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gdn-dev/gdn/pkg/bytesize"
)

// WriteText writes v, any value that encodes as JSON, for a person: the
// text form of every command that has no summary of its own (Print with a
// nil human). An object becomes aligned "key value" lines, nested keys
// joined by dots, in the JSON's key order; an object whose only member is
// a list (`{"handles":[...]}`) becomes the list, one element a line, a
// list of objects a table under a header of its keys. Numbers whose key
// names bytes (…bytes…, capacity, total_usage_toward_limit) are shown as
// sizes ("64 MiB"), those in nanoseconds (…_ns) as durations; the JSON
// keys stay as they are, so a reader can find them in -o json.
func WriteText(w io.Writer, v any) error {
	n, err := nodeOf(v)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(n.keys) == 1 && n.vals[0].isList {
		writeList(tw, n.vals[0].list)
	} else {
		writeLines(tw, "", n)
	}
	return tw.Flush()
}

// nodeOf is v as its JSON says it, keys in order and numbers as written.
func nodeOf(v any) (node, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return node{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return decodeNode(dec)
}

// WriteTextLine writes v on one line for a person: an object as
// key=value pairs in the JSON's key order (nested objects likewise, sizes
// and durations as WriteText shows them), for streams of results such as
// events, where one result a line keeps them apart.
func WriteTextLine(w io.Writer, v any) error {
	n, err := nodeOf(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, n.text(""))
	return err
}

// node is a decoded JSON value that keeps its object keys in order.
type node struct {
	keys   []string // object members, in order
	vals   []node
	isList bool
	list   []node
	scalar any // json.Number, string, bool or nil
	isObj  bool
}

func decodeNode(dec *json.Decoder) (node, error) {
	tok, err := dec.Token()
	if err != nil {
		return node{}, err
	}
	switch tok {
	case json.Delim('{'):
		n := node{isObj: true}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return node{}, err
			}
			v, err := decodeNode(dec)
			if err != nil {
				return node{}, err
			}
			n.keys, n.vals = append(n.keys, fmt.Sprint(k)), append(n.vals, v)
		}
		_, err = dec.Token()
		return n, err
	case json.Delim('['):
		n := node{isList: true}
		for dec.More() {
			v, err := decodeNode(dec)
			if err != nil {
				return node{}, err
			}
			n.list = append(n.list, v)
		}
		_, err = dec.Token()
		return n, err
	}
	return node{scalar: tok}, nil
}

// writeLines writes n's members as "path<TAB>value" lines.
func writeLines(w io.Writer, prefix string, n node) {
	if !n.isObj {
		fmt.Fprintf(w, "%s\t%s\n", prefix, n.text(lastKey(prefix)))
		return
	}
	for i, k := range n.keys {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		v := n.vals[i]
		if v.isObj && len(v.keys) > 0 {
			writeLines(w, p, v)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\n", p, v.text(k))
	}
}

// writeList writes a list: scalars one a line, objects as a table.
func writeList(w io.Writer, list []node) {
	var cols []string
	for _, e := range list {
		if e.isObj && cols == nil {
			cols = e.keys
		}
	}
	if cols != nil {
		fmt.Fprintln(w, strings.ToUpper(strings.Join(cols, "\t")))
	}
	for _, e := range list {
		if !e.isObj {
			fmt.Fprintln(w, e.text(""))
			continue
		}
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = "-"
			for j, k := range e.keys {
				if k == c {
					cells[i] = e.vals[j].text(k)
				}
			}
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
}

// text is a value on one line; key decides whether a number is a size or
// a duration.
func (n node) text(key string) string {
	switch {
	case n.isList:
		parts := make([]string, len(n.list))
		for i, e := range n.list {
			parts[i] = e.text(key)
		}
		if len(parts) == 0 {
			return "-"
		}
		return strings.Join(parts, ", ")
	case n.isObj:
		if len(n.keys) == 0 {
			return "-"
		}
		var b strings.Builder
		for i, k := range n.keys {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(k + "=" + n.vals[i].text(k))
		}
		return b.String()
	}
	switch v := n.scalar.(type) {
	case nil:
		return "-"
	case string:
		if v == "" {
			return `""`
		}
		return v
	case json.Number:
		u, err := strconv.ParseUint(string(v), 10, 64)
		switch {
		case err != nil:
			return string(v)
		case isSizeKey(key):
			return bytesize.Format(u)
		case strings.HasSuffix(key, "_ns") && u <= 1<<63-1:
			return time.Duration(u).String()
		}
		return string(v)
	}
	return fmt.Sprint(n.scalar)
}

func isSizeKey(k string) bool {
	return strings.Contains(k, "bytes") || k == "capacity" || k == "total_usage_toward_limit"
}

func lastKey(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}
