package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tradeconsole/tradeconsole/storage"
)

// newOrderflowCmd is `tradeconsole orderflow --db FILE [--depth N] [--json]`: OBI and CVD per
// snapshot of an order-flow file into its metrics table.
func newOrderflowCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		file     string
		depth    int
		asJSON   bool
		progress bool
	)
	cmd := &cobra.Command{
		Use:   "orderflow --db FILE [--depth N] [--json]",
		Short: "Compute OBI and CVD per book snapshot of an order-flow file into its metrics table",
		Long: `orderflow reads the book and trades tables of an order-flow file (seed schema) in time order,
attributes each trade to the first snapshot at or after it, and writes one metrics row per
snapshot: OBI over the top --depth levels of each side (0 = all), the running CVD, best bid
and best ask. A re-run replaces the metrics table; book and trades are never modified.
Malformed rows are skipped and counted.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("--db FILE is required: the order-flow file to analyse")}
			}
			if depth < 0 {
				return usageError{fmt.Errorf("--depth %d: must be 0 (all levels) or more", depth)}
			}
			opt := storage.OrderflowOptions{Depth: depth}
			if progress {
				line := labelled(progressLine(stderr), "orderflow", "snapshots (estimated)")
				opt.Progress = func(done, total int64) { line(int(done), int(total)) }
			}
			sum, err := storage.RunOrderflow(cmd.Context(), file, opt)
			if progress {
				fmt.Fprintln(stderr)
			}
			if err != nil {
				return orderflowError(err)
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(sum)
			}
			fmt.Fprint(stdout, sum.Text())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "db", "", "the order-flow file (SQLite with book and trades tables)")
	f.IntVar(&depth, "depth", 0, "levels per side in OBI; 0 = all levels of each snapshot")
	f.BoolVar(&asJSON, "json", false, "print the summary as one JSON document")
	f.BoolVar(&progress, "progress", isTerminal(stderr), "show progress on stderr (default: when stderr is a terminal)")
	return cmd
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
