package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// figure is one row of the table: gdn's figure, its floor in the same
// run, their ratio and the goal the ratio is held to.
type figure struct {
	Name      string  `json:"figure"`
	Unit      string  `json:"unit"`
	Gdn       float64 `json:"gdn"`
	GdnP90    float64 `json:"gdn_p90,omitempty"`
	FloorName string  `json:"floor_name"`
	Floor     float64 `json:"floor"`
	FloorP90  float64 `json:"floor_p90,omitempty"`
	Ratio     float64 `json:"ratio"`
	// Goal bounds Ratio (from above; from below when HigherIsBetter). An
	// AbsoluteGoal bounds Gdn itself, given as Floor; 0: no goal here.
	Goal           float64 `json:"goal,omitempty"`
	HigherIsBetter bool    `json:"higher_is_better,omitempty"`
	AbsoluteGoal   bool    `json:"absolute_goal,omitempty"`
	Met            *bool   `json:"met,omitempty"`
	Note           string  `json:"note,omitempty"`
}

type results struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Passes   int       `json:"passes"`
	PerPass  int       `json:"per_pass"`
	Figures  []figure  `json:"figures"`
	// Drift names floors whose first and last pass differ by over 20%.
	Drift     []string             `json:"floor_drift,omitempty"`
	Latencies map[string][]float64 `json:"latencies_ms"`
	// Tools is where the server's time went: each tool command's runs,
	// from the server's debug log.
	Tools []toolTime `json:"tool_runs"`
	// ToolsAtZero and ToolsAtLive are the tool runs of the sequential
	// creates and destroys with no other container and with the live ones.
	ToolsAtZero []toolTime `json:"tool_runs_with_none"`
	ToolsAtLive []toolTime `json:"tool_runs_with_live"`
}

type toolTime struct {
	Command string  `json:"command"`
	Runs    int     `json:"runs"`
	Median  float64 `json:"median_ms"`
	P90     float64 `json:"p90_ms"`
	CPU     float64 `json:"median_cpu_ms"` // user+system of the run and what it waited for
}

func (r *results) add(f figure) {
	if f.Floor > 0 {
		f.Ratio = f.Gdn / f.Floor
	}
	var met bool
	switch {
	case f.AbsoluteGoal:
		met = f.Gdn <= f.Floor
	case f.Goal == 0:
		r.Figures = append(r.Figures, f)
		return
	case f.HigherIsBetter:
		met = f.Ratio >= f.Goal
	default:
		met = f.Ratio <= f.Goal
	}
	f.Met = &met
	r.Figures = append(r.Figures, f)
	fmt.Fprintf(os.Stderr, "%s: %.2f %s (floor %.2f, ratio %.2f)\n", f.Name, f.Gdn, f.Unit, f.Floor, f.Ratio)
}

// drift records a floor whose last pass's median is more than 20% off
// its first's.
func (r *results) drift(name string, first, last []time.Duration) {
	a, b := ms(median(first)), ms(median(last))
	if a > 0 && math.Abs(b-a)/a > 0.2 {
		r.Drift = append(r.Drift, fmt.Sprintf("%s drifted from %.1f ms (first pass) to %.1f ms (last pass)", name, a, b))
	}
}

func (r *results) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(r.markdown()), 0o644); err != nil {
		return err
	}
	if len(r.Latencies) == 0 { // a run of one figure (-only) has no latencies to draw
		return nil
	}
	return os.WriteFile(filepath.Join(dir, "latency.svg"), []byte(r.svg()), 0o644)
}

func (r *results) markdown() string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# gdn benchmark, %s (host %s, %d passes × %d)\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), host, r.Passes, r.PerPass)
	b.WriteString("Medians unless the figure says otherwise; p90 in parentheses. Ratio is gdn / floor, measured in the same run.\n\n")
	b.WriteString("| figure | gdn | floor | ratio | goal | met? |\n|---|---:|---|---:|---:|:---:|\n")
	for _, f := range r.Figures {
		g := fmt.Sprintf("%.2f %s", f.Gdn, f.Unit)
		if f.GdnP90 > 0 {
			g += fmt.Sprintf(" (%.1f)", f.GdnP90)
		}
		fl := fmt.Sprintf("%s: %.2f %s", f.FloorName, f.Floor, f.Unit)
		if f.FloorP90 > 0 {
			fl += fmt.Sprintf(" (%.1f)", f.FloorP90)
		}
		goal, met := "—", "—"
		switch {
		case f.AbsoluteGoal:
			goal = fmt.Sprintf("≤ %.2f %s", f.Floor, f.Unit)
		case f.Goal > 0 && f.HigherIsBetter:
			goal = fmt.Sprintf("≥ %.2f×", f.Goal)
		case f.Goal > 0:
			goal = fmt.Sprintf("≤ %.2f×", f.Goal)
		}
		if f.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*f.Met]
		}
		ratio := fmt.Sprintf("%.2f×", f.Ratio)
		if f.AbsoluteGoal {
			ratio = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", f.Name, g, fl, ratio, goal, met)
	}
	notes := false
	for _, f := range r.Figures {
		if f.Note != "" {
			if !notes {
				b.WriteString("\nNotes:\n")
				notes = true
			}
			fmt.Fprintf(&b, "- %s: %s\n", f.Name, f.Note)
		}
	}
	for _, d := range r.Drift {
		fmt.Fprintf(&b, "- **floor drift**: %s; the ratios of this run are less trustworthy\n", d)
	}
	b.WriteString("\nWhere the server's time goes (each tool run, from its debug log, all figures above together; CPU is the run's user+system time and its waited-for children's):\n\n| tool command | runs | median ms | p90 ms | median CPU ms |\n|---|---:|---:|---:|---:|\n")
	for _, t := range r.Tools {
		fmt.Fprintf(&b, "| %s | %d | %.1f | %.1f | %.1f |\n", t.Command, t.Runs, t.Median, t.P90, t.CPU)
	}
	if len(r.ToolsAtZero) > 0 {
		at := map[string]toolTime{}
		for _, t := range r.ToolsAtLive {
			at[t.Command] = t
		}
		b.WriteString("\nThe sequential creates and destroys, with no other container and with the live ones:\n\n| tool command | median ms with none | median ms with the live ones | ratio |\n|---|---:|---:|---:|\n")
		for _, t := range r.ToolsAtZero {
			l := at[t.Command]
			fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.2f× |\n", t.Command, t.Median, l.Median, l.Median/t.Median)
		}
	}
	fmt.Fprintf(&b, "\nLatency distributions: latency.svg. Raw figures: results.json. Took %s.\n", r.Finished.Sub(r.Started).Round(time.Second))
	return b.String()
}

// svg draws one strip per series: every sample as a tick, with the
// median and p90 marked, on a shared millisecond axis.
func (r *results) svg() string {
	order := []string{"runc run", "create", "destroy", "runc exec", "run"}
	colour := map[string]string{"runc run": "#888", "runc exec": "#888", "create": "#1f77b4", "destroy": "#d62728", "run": "#2ca02c"}
	hi := 0.0
	for _, k := range order {
		for _, v := range r.Latencies[k] {
			hi = math.Max(hi, v)
		}
	}
	hi = math.Ceil(hi/50) * 50
	const left, width, row = 110.0, 760.0, 46.0
	x := func(v float64) float64 { return left + v/hi*width }
	var b strings.Builder
	h := row*float64(len(order)) + 70
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", left+width+30, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="18" font-size="14">gdn latencies through the Garden API against runc floors (ms; tick = one sample, bar = median, dashed = p90)</text>`+"\n")
	for i, k := range order {
		vs := r.Latencies[k]
		y := 40 + row*float64(i)
		fmt.Fprintf(&b, `<text x="10" y="%.0f">%s</text>`+"\n", y+row/2, k)
		for _, v := range vs {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="%s" stroke-opacity="0.5"/>`+"\n", x(v), x(v), y+8, y+row-8, colour[k])
		}
		if len(vs) > 0 {
			m, p := median(vs), p90(vs)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="black" stroke-width="3"/>`+"\n", x(m), x(m), y+4, y+row-4)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="black" stroke-dasharray="3,2"/>`+"\n", x(p), x(p), y+4, y+row-4)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10">%.1f</text>`+"\n", x(m)+3, y+12, m)
		}
	}
	axisY := 40 + row*float64(len(order)) + 5
	fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="black"/>`+"\n", left, left+width, axisY, axisY)
	for v := 0.0; v <= hi; v += hi / 10 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%.0f</text>`+"\n", x(v), axisY+15, v)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func msList(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = ms(d)
	}
	return out
}

// median and p90 of a sample (0 for none).
func median[T time.Duration | float64](vs []T) T {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func p90[T time.Duration | float64](vs []T) T {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	return s[(len(s)*9+9)/10-1]
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(max(len(ds), 1))
}
