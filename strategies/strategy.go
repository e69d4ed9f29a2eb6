// Package strategies is the strategy vocabulary of tradeconsole: the Strategy interface, typed
// parameters, signals, the explicit registry of built-in strategies and their incremental
// indicators. It imports only market.
//
// Strategies see only the past: an Instance receives closed candles one at a time, in time
// order, and keeps whatever history it needs itself; nothing gives it a later candle. The same
// instance code runs in backtests and in live bots.
package strategies

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tradeconsole/tradeconsole/market"
)

// Action is what a strategy asks for on a candle's close. The broker fills it at the next
// candle's open.
type Action int8

const (
	Hold       Action = iota // no change
	EnterLong                // open a long position (closing a short first)
	EnterShort               // open a short position (closing a long first); only when shorts are allowed
	Exit                     // close the open position, whatever its side
)

func (a Action) String() string {
	switch a {
	case Hold:
		return "hold"
	case EnterLong:
		return "enter_long"
	case EnterShort:
		return "enter_short"
	case Exit:
		return "exit"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Direction is the side a signal leans to.
type Direction int8

const (
	Flat  Direction = 0
	Long  Direction = 1
	Short Direction = -1
)

func (d Direction) String() string {
	switch d {
	case Long:
		return "long"
	case Short:
		return "short"
	}
	return "flat"
}

// Confidence grades a signal by its distance to the strategy's thresholds.
type Confidence int8

const (
	Low Confidence = iota
	Medium
	High
)

func (c Confidence) String() string {
	switch c {
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return "low"
}

// Signal is a strategy's output for one candle (DESIGN.md): Value in [0, 1] (0 = sell, 1 = buy,
// 0.5 neutral), the Direction it leans to, a Confidence, the strategy's name and the candle's
// time; Action is what the broker should do at the next open.
type Signal struct {
	Time       int64 // the candle's (right-aligned) stamp, unix ms
	Strategy   string
	Action     Action
	Value      float64
	Direction  Direction
	Confidence Confidence
}

// Kind is a parameter's type.
type Kind uint8

const (
	Int Kind = iota + 1
	Float
	Bool
)

func (k Kind) String() string {
	switch k {
	case Int:
		return "int"
	case Float:
		return "float"
	case Bool:
		return "bool"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Param describes one typed parameter: the console builds its forms from these.
type Param struct {
	Name        string
	Kind        Kind
	Default     float64 // Bool: 0 or 1
	Min, Max    float64 // inclusive range (Bool: 0..1)
	Description string  // one line
}

// Values are parameter values by name, complete and in range once Resolve accepted them.
type Values map[string]float64

// Int returns an Int parameter.
func (v Values) Int(name string) int { return int(v[name]) }

// Float returns a Float parameter.
func (v Values) Float(name string) float64 { return v[name] }

// Bool returns a Bool parameter.
func (v Values) Bool(name string) bool { return v[name] != 0 }

// String renders the values as name=value pairs in name order.
func (v Values) String() string {
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + strconv.FormatFloat(v[n], 'g', -1, 64)
	}
	return strings.Join(parts, " ")
}

// ParamError is a bad parameter value (or an unknown parameter name).
type ParamError struct {
	Strategy, Param, Value, Reason string
}

func (e *ParamError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: parameter %s: %s", e.Strategy, e.Param, e.Reason)
	}
	return fmt.Sprintf("%s: parameter %s = %q: %s", e.Strategy, e.Param, e.Value, e.Reason)
}

// Resolve checks text values (from --param k=v or a form) against a strategy's parameters and
// returns the complete values, defaults filled in. Every problem is reported (errors.Join of
// *ParamError), naming the parameter, the value and the allowed range.
func Resolve(s Strategy, text map[string]string) (Values, error) {
	defs := s.Params()
	v := make(Values, len(defs))
	var errs []error
	known := map[string]Param{}
	for _, p := range defs {
		known[p.Name] = p
		v[p.Name] = p.Default
	}
	names := make([]string, 0, len(text))
	for n := range text {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		raw := strings.TrimSpace(text[n])
		p, ok := known[n]
		if !ok {
			errs = append(errs, &ParamError{s.Name(), n, raw, "unknown parameter; " + s.Name() + " has " + paramNames(defs)})
			continue
		}
		x, err := parseParam(p, raw)
		if err != nil {
			errs = append(errs, &ParamError{s.Name(), n, raw, err.Error()})
			continue
		}
		v[n] = x
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	if err := Check(s, v); err != nil {
		return nil, err
	}
	return v, nil
}

// Check verifies that values are complete, of their kind and in range.
func Check(s Strategy, v Values) error {
	var errs []error
	for _, p := range s.Params() {
		x, ok := v[p.Name]
		raw := strconv.FormatFloat(x, 'g', -1, 64)
		switch {
		case !ok:
			errs = append(errs, &ParamError{s.Name(), p.Name, "", "missing"})
		case math.IsNaN(x) || math.IsInf(x, 0):
			errs = append(errs, &ParamError{s.Name(), p.Name, raw, "must be a finite number"})
		case p.Kind != Float && x != math.Trunc(x):
			errs = append(errs, &ParamError{s.Name(), p.Name, raw, "must be a whole number"})
		case x < p.Min || x > p.Max:
			errs = append(errs, &ParamError{s.Name(), p.Name, raw, "must be from " + fmtNum(p.Min) + " to " + fmtNum(p.Max)})
		}
	}
	if len(errs) > 0 {
		return joinErrors(errs)
	}
	return nil
}

func parseParam(p Param, raw string) (float64, error) {
	if p.Kind == Bool {
		switch strings.ToLower(raw) {
		case "true", "yes", "on", "1":
			return 1, nil
		case "false", "no", "off", "0":
			return 0, nil
		}
		return 0, fmt.Errorf("must be true or false")
	}
	x, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return 0, fmt.Errorf("must be a number")
	}
	return x, nil
}

func paramNames(defs []Param) string {
	if len(defs) == 0 {
		return "no parameters"
	}
	names := make([]string, len(defs))
	for i, p := range defs {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// joinedError lists several errors one per line.
type joinedError []error

func (e joinedError) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "\n")
}

func (e joinedError) Unwrap() []error { return e }

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return joinedError(errs)
}

// FlowPoint is one order-flow snapshot as an order-flow strategy sees it.
type FlowPoint struct {
	Time             int64 // unix ms
	OBI, CVD         float64
	BestBid, BestAsk float64
}

// Strategy is a named, parameterised trading rule. It is stateless; New makes a running
// instance.
type Strategy interface {
	Name() string
	Describe() string // one line
	Params() []Param
	// New returns a fresh instance for values that Check accepted. Rules between parameters
	// (fast < slow) are checked here and reported as *ParamError.
	New(v Values) (Instance, error)
}

// Instance is one running strategy. Step is called once per closed candle, in time order,
// and returns the signal decided on that candle's close. An instance must not look at anything
// but what it was given: the API gives it no way to see a later candle.
type Instance interface {
	Step(c market.Candle) Signal
	// AllowsShort reports whether the instance may ask for EnterShort.
	AllowsShort() bool
}

// FlowStepper is implemented by instances that also trade on order flow: StepFlow is called once
// per order-flow snapshot, in time order (interleaved with Step by time).
type FlowStepper interface {
	StepFlow(f FlowPoint) Signal
}

// Plotter is implemented by instances with indicator series worth plotting over the candles.
type Plotter interface {
	// Plots names the series, e.g. "sma(10)", "sma(30)".
	Plots() []string
	// PlotValues appends the series' values after the last Step, in Plots order; NaN while an
	// indicator is still warming up.
	PlotValues(dst []float64) []float64
}

// Registry is an explicit, ordered set of strategies (no init() registration).
type Registry struct {
	byName map[string]Strategy
	names  []string
}

// NewRegistry makes a registry of the given strategies; a repeated name is an error.
func NewRegistry(ss ...Strategy) (*Registry, error) {
	r := &Registry{byName: map[string]Strategy{}}
	for _, s := range ss {
		if _, dup := r.byName[s.Name()]; dup {
			return nil, fmt.Errorf("strategies: %q registered twice", s.Name())
		}
		r.byName[s.Name()] = s
		r.names = append(r.names, s.Name())
	}
	return r, nil
}

// Get returns the named strategy, or an error listing the known names.
func (r *Registry) Get(name string) (Strategy, error) {
	if s, ok := r.byName[name]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("unknown strategy %q; known: %s", name, strings.Join(r.names, ", "))
}

// Names lists the strategies in registration order.
func (r *Registry) Names() []string { return slices.Clone(r.names) }

// FormatValues renders values as name=value pairs in name order, each as its parameter's
// kind is written: whole numbers for Int, true/false for Bool. Names s does not declare are
// written as numbers.
func FormatValues(s Strategy, v Values) string {
	kinds := map[string]Kind{}
	if s != nil {
		for _, p := range s.Params() {
			kinds[p.Name] = p.Kind
		}
	}
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		x := v[n]
		text := strconv.FormatFloat(x, 'g', -1, 64)
		switch kinds[n] {
		case Bool:
			text = strconv.FormatBool(x != 0)
		case Int:
			text = strconv.FormatFloat(x, 'f', 0, 64)
		}
		parts[i] = n + "=" + text
	}
	return strings.Join(parts, " ")
}
