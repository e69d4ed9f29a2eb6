package venue

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/tradeconsole/tradeconsole/market"
)

// strNum reads a JSON string holding a finite number (the Bybit rule).
func strNum(v *fastjson.Value) (float64, bool) {
	b, err := v.StringBytes()
	if err != nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil && f-f == 0
}

// anyNum reads a JSON string or number holding a finite number (the Binance rule).
func anyNum(v *fastjson.Value) (float64, bool) {
	if v.Type() == fastjson.TypeNumber {
		f, err := v.Float64()
		return f, err == nil
	}
	return strNum(v)
}

func TestAppendLevels(t *testing.T) {
	for _, c := range []struct {
		json string
		num  func(*fastjson.Value) (float64, bool)
		want string // levels "price:size …"; "!" when refused
	}{
		{`[]`, strNum, ""},
		{`[["100.5","1"],["100","0.00000000"]]`, strNum, "100.5:1 100:0"},
		{`[["0.00250000","12.00000000"]]`, strNum, "0.0025:12"},
		{`[["100","1","0","3"]]`, strNum, "100:1"}, // OKX's four fields: the first two count
		{`[["101","1"],["99","2"],["101","3"]]`, strNum, "101:1 99:2 101:3"},
		{`[[100,1]]`, strNum, "!"},
		{`[[100,1.5]]`, anyNum, "100:1.5"},
		{`[["100",1]]`, anyNum, "100:1"},
		{`[["0","1"]]`, strNum, "!"},
		{`[["-1","1"]]`, strNum, "!"},
		{`[["100","-1"]]`, strNum, "!"},
		{`[["100"]]`, strNum, "!"},
		{`[["100","1"],"x"]`, strNum, "!"},
		{`[["100","NaN"]]`, strNum, "!"},
		{`[["100","1e400"]]`, strNum, "!"},
		{`[["x","1"]]`, strNum, "!"},
		{`{"100":"1"}`, strNum, "!"},
		{`"[]"`, strNum, "!"},
		{`null`, strNum, "!"},
	} {
		v := fastjson.MustParse(c.json)
		dst := []market.Level{{Price: 1, Size: 1}}
		got, ok := AppendLevels(dst, v, c.num)
		s := "!"
		if ok {
			if len(got) == 0 || got[0] != dst[0] {
				t.Errorf("%s: dst's levels lost: %v", c.json, got)
				continue
			}
			s = ""
			for i, l := range got[1:] {
				if i > 0 {
					s += " "
				}
				s += fmt.Sprintf("%g:%g", l.Price, l.Size)
			}
		}
		if s != c.want {
			t.Errorf("%s: got %q, want %q", c.json, s, c.want)
		}
	}
	if _, ok := AppendLevels(nil, nil, strNum); ok {
		t.Error("a missing value is accepted")
	}
}
