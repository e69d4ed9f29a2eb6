package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/viper"
)

// Options says where Load reads from.
type Options struct {
	// File is the config file (--config). "" means DefaultFile in the working directory if it
	// exists, else the built-in defaults, so the binary runs from any directory. A File that
	// is given explicitly must exist.
	File string
	// Env is the environment as os.Environ() returns it; nil means os.Environ(). Pass an
	// empty non-nil slice for no environment. Only TRADECONSOLE_* variables are looked at;
	// an empty variable counts as unset.
	Env []string
	// Set holds command-line overrides by key path, applied last, e.g.
	// {"exchange": "sim", "symbols": "BTCUSDT,SOLUSDT"}.
	Set map[string]string
}

// Load reads the configuration: defaults < config file < TRADECONSOLE_* environment <
// Options.Set. Every error it returns satisfies IsUsageError: a *FileError when the config
// file cannot be read or parsed, else a *ValidationError listing every bad key at once.
func Load(opt Options) (Config, error) {
	def := Default()
	v := viper.New()
	for _, f := range fields {
		v.SetDefault(f.key, f.def(&def))
	}

	var problems []Problem
	sources := map[string]string{}

	// The config file.
	path, explicit := opt.File, true
	if path == "" {
		path, explicit = DefaultFile, false
	}
	leaves, ps, err := readFile(path, explicit)
	if err != nil {
		return Config{}, err
	}
	problems = append(problems, ps...)
	if len(leaves) > 0 {
		if err := v.MergeConfigMap(nest(leaves)); err != nil {
			return Config{}, &FileError{File: path, Err: err}
		}
		for k := range leaves {
			sources[k] = "file " + path
		}
	}

	// The environment.
	env := opt.Env
	if env == nil {
		env = os.Environ()
	}
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || val == "" {
			continue
		}
		key, known := envKeys[strings.ToUpper(name[len(EnvPrefix):])]
		if !known {
			// The value is not shown: an unknown variable may hold a secret.
			reason := "unknown environment variable: it names no config key"
			if s := suggest(strings.ToUpper(name[len(EnvPrefix):]), slices.Collect(maps.Keys(envKeys))); s != "" {
				reason += "; did you mean " + EnvPrefix + s + "?"
			}
			problems = append(problems, Problem{Key: name, Reason: reason})
			continue
		}
		if only := fields[fieldIndex[key]].fileOnly; only != "" {
			problems = append(problems, Problem{Key: key, Reason: only + ", not in the environment", Source: "env " + name})
			continue
		}
		v.Set(key, val)
		sources[key] = "env " + name
	}

	// Command-line overrides.
	for _, k := range slices.Sorted(maps.Keys(opt.Set)) {
		key := strings.ToLower(strings.TrimSpace(k))
		if _, known := fieldIndex[key]; !known {
			problems = append(problems, Problem{Key: k, Value: opt.Set[k], Reason: unknownKeyReason(key), Source: "command line"})
			continue
		}
		if only := fields[fieldIndex[key]].fileOnly; only != "" {
			problems = append(problems, Problem{Key: k, Reason: only + ", not on the command line", Source: "command line"})
			continue
		}
		v.Set(key, opt.Set[k])
		sources[key] = "command line"
	}

	// Decode and check every key, then the rules that involve several keys.
	d := &decoder{sources: sources, failed: map[string]bool{}}
	var c Config
	for _, f := range fields {
		f.dec(d, &c, f.key, v.Get(f.key))
	}
	slices.Sort(c.Timeframes)
	if !d.failed["timeframes"] && !d.failed["ui.timeframe"] && !slices.Contains(c.Timeframes, c.UI.Timeframe) {
		d.add("ui.timeframe", c.UI.Timeframe.String(),
			"must be one of the configured timeframes ("+joinTimeframes(c.Timeframes)+")")
	}
	if !d.failed["exchange"] && !d.failed["replay.file"] && c.Exchange == "replay" && strings.TrimSpace(c.Replay.File) == "" {
		d.add("replay.file", "", "is required with exchange replay: name an order-flow file (--replay-file FILE)")
	}
	if !d.failed["bot_runner.heartbeat"] && !d.failed["bot_runner.stall_after"] && c.BotRunner.StallAfter <= c.BotRunner.Heartbeat {
		// Name the key the user set (stall_after when both or neither were), the other in the reason.
		if sources["bot_runner.stall_after"] == "" && sources["bot_runner.heartbeat"] != "" {
			d.add("bot_runner.heartbeat", fmtDuration(c.BotRunner.Heartbeat),
				"must be less than bot_runner.stall_after ("+fmtDuration(c.BotRunner.StallAfter)+"), the silence after which a bot counts as stalled")
		} else {
			d.add("bot_runner.stall_after", fmtDuration(c.BotRunner.StallAfter),
				"must be greater than bot_runner.heartbeat ("+fmtDuration(c.BotRunner.Heartbeat)+"), or every bot would count as stalled")
		}
	}
	problems = append(problems, d.problems...)

	if len(problems) > 0 {
		return Config{}, &ValidationError{Problems: problems}
	}
	return c, nil
}

// readFile reads and parses the config file into its leaf values by key path, dropping
// nulls (a key with no value keeps its default). Unknown keys and keys of the wrong shape
// come back as problems; an unreadable or unparseable file is a *FileError. A missing file
// is an error only when it was named explicitly.
func readFile(path string, explicit bool) (map[string]any, []Problem, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, nil, &FileError{File: path, Err: err}
	}

	typ := "yaml"
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		typ = "json"
	case ".toml":
		typ = "toml"
	}
	fv := viper.New()
	fv.SetConfigType(typ)
	if err := fv.ReadConfig(bytes.NewReader(data)); err != nil {
		return nil, nil, parseError(path, typ, err)
	}

	src := "file " + path
	leaves := map[string]any{}
	var problems []Problem
	reported := map[string]bool{}
	keys := fv.AllKeys()
	slices.Sort(keys)
	for _, k := range keys {
		val := fv.Get(k)
		if _, ok := fieldIndex[k]; ok {
			if val != nil {
				leaves[k] = val
			}
			continue
		}
		if sub, ok := sections[k]; ok {
			if val != nil {
				problems = append(problems, Problem{Key: k, Value: render(val), Source: src,
					Reason: "must be a section holding " + strings.Join(sub, ", ") + "; not a single value"})
			}
			continue
		}
		if leaf := knownPrefix(k); leaf != "" {
			if !reported[leaf] {
				reported[leaf] = true
				problems = append(problems, Problem{Key: leaf, Source: src, Reason: notSectionReason(leaf)})
			}
			continue
		}
		problems = append(problems, Problem{Key: k, Value: render(val), Source: src, Reason: unknownKeyReason(k)})
	}
	// A key given an empty section ({}) has no leaves, so AllKeys does not list it.
	for _, f := range fields {
		if _, ok := leaves[f.key]; ok || reported[f.key] {
			continue
		}
		if m, ok := fv.Get(f.key).(map[string]any); ok && len(m) == 0 {
			problems = append(problems, Problem{Key: f.key, Source: src, Reason: notSectionReason(f.key)})
		}
	}
	return leaves, problems, nil
}

// notSectionReason is the problem of a section of keys given where key's value belongs.
func notSectionReason(key string) string {
	if r := fields[fieldIndex[key]].notSection; r != "" {
		return r
	}
	return "must be a value, not a section of keys"
}

var lineRE = regexp.MustCompile(`line (\d+)`)

// parseError turns a decoder error into a *FileError with the line when there is one.
func parseError(path, typ string, err error) error {
	var pe viper.ConfigParseError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		err = pe.Unwrap()
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "unmarshal errors:\n", "")), " ")
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	return &FileError{File: path, Line: line, Err: fmt.Errorf("invalid %s: %s", strings.ToUpper(typ), msg)}
}

// knownPrefix returns the known leaf key that is a proper prefix of k, if any
// ("data_dir" for "data_dir.x").
func knownPrefix(k string) string {
	for i := range len(k) {
		if k[i] == '.' {
			if _, ok := fieldIndex[k[:i]]; ok {
				return k[:i]
			}
		}
	}
	return ""
}

// nest turns leaf key paths into the nested map viper merges.
func nest(leaves map[string]any) map[string]any {
	root := map[string]any{}
	for k, val := range leaves {
		parts := strings.Split(k, ".")
		m := root
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = val
	}
	return root
}

func unknownKeyReason(key string) string {
	if s := suggest(key, slices.Collect(maps.Keys(fieldIndex))); s != "" {
		return "unknown key; did you mean " + s + "?"
	}
	return "unknown key"
}

// suggest returns the candidate closest to s when it is at most two edits away, a likely typo;
// of equally close ones, the one sharing the longest prefix with s ("sped" → "speed", not "seed").
func suggest(s string, candidates []string) string {
	slices.Sort(candidates)
	best, bestDist, bestPrefix := "", 3, -1
	for _, c := range candidates {
		d, p := editDistance(s, c), commonPrefix(s, c)
		if d <= 2 && (d < bestDist || d == bestDist && p > bestPrefix) {
			best, bestDist, bestPrefix = c, d, p
		}
	}
	return best
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
