package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/tradeconsole/tradeconsole/config"
	"github.com/tradeconsole/tradeconsole/engine"
	"github.com/tradeconsole/tradeconsole/storage"
)

// botDefinitions reads the bots of config.yaml (bots:) and of bots_dir (one JSON file per
// bot). Every bad definition is reported at once, each naming its file or entry; the error is
// a usage error (exit 2).
func botDefinitions(cfg config.Config) ([]engine.BotSource, error) {
	var defs []engine.BotSource
	var errs []error
	seen := map[string]string{}
	add := func(origin, source string, data []byte) {
		spec, err := engine.ParseBotSpec(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", origin, err))
			return
		}
		if prev, ok := seen[spec.Name]; ok {
			errs = append(errs, fmt.Errorf("%s: bot %s is also defined in %s", origin, spec.Name, prev))
			return
		}
		seen[spec.Name] = origin
		defs = append(defs, engine.BotSource{Spec: spec, Source: source, Origin: origin})
	}
	for i, b := range cfg.Bots {
		data, err := json.Marshal(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("config bots[%d]: %w", i, err))
			continue
		}
		add(fmt.Sprintf("config bots[%d]", i), storage.BotFromConfig, data)
	}
	dir := cfg.BotsPath()
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		errs = append(errs, fmt.Errorf("bots_dir %s: %w", dir, err))
	default:
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			if !e.IsDir() && filepath.Ext(e.Name()) == ".json" {
				names = append(names, e.Name())
			}
		}
		slices.Sort(names)
		for _, n := range names {
			path := filepath.Join(dir, n)
			data, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("bots_dir: %w", err))
				continue
			}
			add(path, storage.BotFromFile, data)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, usageError{err}
	}
	return defs, nil
}

// zeroIsNone maps a config count where 0 means none (bot_runner.warmup, max_restarts) to an
// engine option where 0 means the default and a negative value none.
func zeroIsNone(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
