package hostcheck

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Status words of a Result.
const (
	OK      = "ok"
	Missing = "missing"
)

// Result is the outcome of one check.
type Result struct {
	Name   string `json:"name"`
	Status string `json:"status"` // OK or Missing
	// Detail says what was found.
	Detail string `json:"detail"`
	// Fix says what to do when Status is Missing ("" when OK).
	Fix string `json:"fix,omitempty"`
	// Blocker: gdn cannot create containers while this is missing.
	Blocker bool `json:"blocker"`
}

// Report is every check's Result, in the order they ran.
type Report struct {
	Checks []Result `json:"checks"`
	// Blockers names the checks that are missing and block gdn.
	Blockers []string `json:"blockers"`
}

// Config names what to check.
type Config struct {
	// DepotDir, StoreDir and NetStateDir are the directories gdn-depot,
	// gdn-rootfs and gdn-net keep their state in; they need not exist yet.
	DepotDir, StoreDir, NetStateDir string
	// InitBin is gdn-init, bind-mounted into every container ("" skips).
	InitBin string
	// ContainerRootUID is the host uid of unprivileged container root
	// (0: the largest uid of this process's user namespace).
	ContainerRootUID uint32
}

// ok and missing build Results.
func ok(name, detail string) Result { return Result{Name: name, Status: OK, Detail: detail} }

func missing(name, detail, fix string, blocker bool) Result {
	return Result{Name: name, Status: Missing, Detail: detail, Fix: fix, Blocker: blocker}
}

// newReport collects rs and lists the blockers among them.
func newReport(rs []Result) Report {
	r := Report{Checks: rs, Blockers: []string{}}
	for _, c := range rs {
		if c.Status != OK && c.Blocker {
			r.Blockers = append(r.Blockers, c.Name)
		}
	}
	return r
}

// Err is nil when nothing blocks gdn, else an error naming the blockers.
func (r Report) Err() error {
	if len(r.Blockers) == 0 {
		return nil
	}
	return fmt.Errorf("host check: gdn cannot run here: missing %s", strings.Join(r.Blockers, ", "))
}

// WriteTable writes r as an aligned table: CHECK, STATUS, DETAIL, then the
// fix on its own line under each missing check.
func (r Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL")
	for _, c := range r.Checks {
		st := c.Status
		if st != OK && c.Blocker {
			st += " (blocker)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, st, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Blockers) > 0 {
		_, err := fmt.Fprintf(w, "\nblockers: %s\n", strings.Join(r.Blockers, ", "))
		return err
	}
	_, err := fmt.Fprintln(w, "\nnothing blocks gdn on this host")
	return err
}
