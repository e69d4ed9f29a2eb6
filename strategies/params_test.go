package strategies

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinNames(t *testing.T) {
	want := []string{"sma_cross", "ema_cross", "rsi", "bollinger", "macd", "ma_signal", "rsi_signal",
		"bollinger_signal", "wavelet_reversal", "orderflow_imbalance"}
	reg := Builtin()
	if got := reg.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, n := range want {
		s, err := reg.Get(n)
		if err != nil || s.Name() != n {
			t.Errorf("Get(%q) = %v, %v", n, s, err)
		}
	}
	// Names is a copy
	reg.Names()[0] = "x"
	if reg.Names()[0] != "sma_cross" {
		t.Error("Names() exposes the registry's slice")
	}
}

func TestRegistryUnknownName(t *testing.T) {
	_, err := Builtin().Get("sma_crossover")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, `"sma_crossover"`) {
		t.Errorf("error does not name the strategy: %s", msg)
	}
	for _, n := range Builtin().Names() {
		if !strings.Contains(msg, n) {
			t.Errorf("error does not list %s: %s", n, msg)
		}
	}
	if _, err := NewRegistry(smaCross(), smaCross()); err == nil {
		t.Error("a repeated name is accepted")
	}
}

// TestBuiltinParamDefinitions: every parameter has a one-line description, a default inside
// its range, a whole default for Int/Bool, and the defaults build an instance.
func TestBuiltinParamDefinitions(t *testing.T) {
	for _, name := range Builtin().Names() {
		s, _ := Builtin().Get(name)
		if d := s.Describe(); d == "" || strings.Contains(d, "\n") {
			t.Errorf("%s: description %q", name, d)
		}
		seen := map[string]bool{}
		for _, p := range s.Params() {
			if seen[p.Name] {
				t.Errorf("%s: parameter %s twice", name, p.Name)
			}
			seen[p.Name] = true
			if p.Description == "" || strings.Contains(p.Description, "\n") {
				t.Errorf("%s.%s: description %q", name, p.Name, p.Description)
			}
			if p.Default < p.Min || p.Default > p.Max || p.Min > p.Max {
				t.Errorf("%s.%s: default %g outside [%g, %g]", name, p.Name, p.Default, p.Min, p.Max)
			}
			if p.Kind == Bool && (p.Min != 0 || p.Max != 1) {
				t.Errorf("%s.%s: bool range [%g, %g]", name, p.Name, p.Min, p.Max)
			}
			if p.Kind != Float && p.Default != float64(int(p.Default)) {
				t.Errorf("%s.%s: %v default %g", name, p.Name, p.Kind, p.Default)
			}
		}
		v, err := Resolve(s, nil)
		if err != nil {
			t.Fatalf("%s: defaults rejected: %v", name, err)
		}
		inst, err := s.New(v)
		if err != nil {
			t.Fatalf("%s: New(defaults): %v", name, err)
		}
		if inst.AllowsShort() {
			t.Errorf("%s: shorts allowed by default", name)
		}
		// Params returns a copy
		s.Params()[0].Name = "changed"
		if s.Params()[0].Name == "changed" {
			t.Errorf("%s: Params() exposes its slice", name)
		}
	}
}

func TestResolveDefaults(t *testing.T) {
	s, _ := Builtin().Get("sma_cross")
	v, err := Resolve(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Values{"fast": 10, "slow": 30, "allow_short": 0}); !maps.Equal(v, want) {
		t.Errorf("defaults %v, want %v", v, want)
	}
	v, err = Resolve(s, map[string]string{"fast": " 5 ", "allow_short": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Int("fast") != 5 || v.Int("slow") != 30 || !v.Bool("allow_short") {
		t.Errorf("values %v", v)
	}
	if v.String() != "allow_short=1 fast=5 slow=30" {
		t.Errorf("String() = %q", v.String())
	}
}

// paramErrors returns the *ParamError values of a (possibly joined) error.
func paramErrors(t *testing.T, err error) []*ParamError {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var out []*ParamError
	var walk func(error)
	walk = func(e error) {
		if pe, ok := e.(*ParamError); ok {
			out = append(out, pe)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	if len(out) == 0 {
		t.Fatalf("%v (%T) holds no *ParamError", err, err)
	}
	return out
}

func TestResolveErrors(t *testing.T) {
	reg := Builtin()
	sma, _ := reg.Get("sma_cross")
	cases := []struct {
		strategy string
		params   map[string]string
		param    string
		contains []string
	}{
		{"sma_cross", map[string]string{"fats": "5"}, "fats", []string{"unknown parameter", "fast, slow, allow_short"}},
		{"sma_cross", map[string]string{"fast": "0"}, "fast", []string{`"0"`, "must be from 1 to 1000"}},
		{"sma_cross", map[string]string{"slow": "100000"}, "slow", []string{"must be from 2 to 5000"}},
		{"sma_cross", map[string]string{"fast": "abc"}, "fast", []string{"must be a number"}},
		{"sma_cross", map[string]string{"fast": "2.5"}, "fast", []string{"must be a whole number"}},
		{"sma_cross", map[string]string{"allow_short": "maybe"}, "allow_short", []string{"must be true or false"}},
		{"rsi_signal", map[string]string{"threshold": "0.3"}, "threshold", []string{"must be from 0.5 to 0.99"}},
		{"bollinger", map[string]string{"k": "NaN"}, "k", []string{"finite"}},
	}
	for _, c := range cases {
		s, _ := reg.Get(c.strategy)
		_, err := Resolve(s, c.params)
		pes := paramErrors(t, err)
		if pes[0].Param != c.param || pes[0].Strategy != c.strategy {
			t.Errorf("%v: error on %s.%s, want %s.%s", c.params, pes[0].Strategy, pes[0].Param, c.strategy, c.param)
		}
		for _, want := range c.contains {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v: %q does not say %q", c.params, err, want)
			}
		}
	}
	// every problem at once
	_, err := Resolve(sma, map[string]string{"fast": "x", "slow": "y", "bogus": "1"})
	if pes := paramErrors(t, err); len(pes) != 3 {
		t.Errorf("%d errors, want 3: %v", len(pes), err)
	}
	// Check catches what Resolve would (a Values built by hand)
	if err := Check(sma, Values{"fast": 10}); len(paramErrors(t, err)) != 2 {
		t.Errorf("missing values: %v", err)
	}
	// New re-checks: an out-of-range value never builds an instance
	if _, err := sma.New(Values{"fast": 0, "slow": 30, "allow_short": 0}); err == nil {
		t.Error("New accepted fast = 0")
	}
}

// TestCrossParameterRules: rules between parameters are New's, as *ParamError naming both.
func TestCrossParameterRules(t *testing.T) {
	cases := []struct {
		strategy string
		params   map[string]string
		param    string
		contains []string
	}{
		{"sma_cross", map[string]string{"fast": "30", "slow": "10"}, "fast", []string{"fast (30) must be less than slow (10)"}},
		{"sma_cross", map[string]string{"fast": "20", "slow": "20"}, "fast", []string{"fast (20)", "slow (20)"}},
		{"ema_cross", map[string]string{"fast": "26", "slow": "12"}, "fast", []string{"fast (26)", "slow (12)"}},
		{"macd", map[string]string{"fast": "30"}, "fast", []string{"fast (30)", "slow (26)"}},
		{"ma_signal", map[string]string{"fast": "40"}, "fast", []string{"fast (40)", "slow (30)"}},
		{"rsi", map[string]string{"oversold": "70", "overbought": "30"}, "oversold", []string{"oversold (70)", "overbought (30)"}},
		{"wavelet_reversal", map[string]string{"window": "60"}, "window", []string{`"60"`, "multiple of 8"}},
	}
	for _, c := range cases {
		s, _ := Builtin().Get(c.strategy)
		v, err := Resolve(s, c.params)
		if err != nil {
			t.Fatalf("%s %v: Resolve: %v", c.strategy, c.params, err)
		}
		inst, err := s.New(v)
		if inst != nil {
			t.Errorf("%s %v: an instance with the error", c.strategy, c.params)
		}
		var pe *ParamError
		if !errors.As(err, &pe) {
			t.Fatalf("%s %v: %v is not a *ParamError", c.strategy, c.params, err)
		}
		if pe.Param != c.param || pe.Strategy != c.strategy {
			t.Errorf("%s %v: error on %s.%s", c.strategy, c.params, pe.Strategy, pe.Param)
		}
		for _, want := range c.contains {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s %v: %q does not say %q", c.strategy, c.params, err, want)
			}
		}
	}
}

func TestFormatValues(t *testing.T) {
	s, err := Builtin().Get("sma_cross")
	if err != nil {
		t.Fatal(err)
	}
	v := Values{"fast": 10, "slow": 30, "allow_short": 1, "extra": 0.25}
	if got, want := FormatValues(s, v), "allow_short=true extra=0.25 fast=10 slow=30"; got != want {
		t.Fatalf("FormatValues = %q, want %q", got, want)
	}
	if got, want := FormatValues(nil, Values{"x": 1}), "x=1"; got != want {
		t.Fatalf("without a strategy: %q", got)
	}
}
