package market

// FlowBar is one interval of order flow: the OHLCV of its trades, the volume delta (taker buy −
// taker sell size, the per-candle CVD change), the CVD at its end, and the open, high, low and
// close of the OBI samples taken in it. Time is right-aligned like a candle's: the bar stamped T
// covers [T − tf, T).
//
// A bar with no trades is flat at the previous close; a bar with no OBI sample carries the
// previous OBI close (OBISamples tells them apart).
type FlowBar struct {
	Time                   int64
	Open, High, Low, Close float64
	Volume                 float64
	Trades                 int64
	BuyVolume, SellVolume  float64
	Delta                  float64 // BuyVolume − SellVolume
	CVD                    float64 // cumulative volume delta at the end of the bar
	OBIOpen, OBIHigh       float64
	OBILow, OBIClose       float64
	OBISamples             int64
	Alerts                 int64 // OBI alerts fired in the bar
}

// carry starts the bar stamped t after prev: prices, CVD and OBI continue flat.
func carry(prev FlowBar, t int64) FlowBar {
	return FlowBar{
		Time: t, Open: prev.Close, High: prev.Close, Low: prev.Close, Close: prev.Close,
		CVD: prev.CVD, OBIOpen: prev.OBIClose, OBIHigh: prev.OBIClose, OBILow: prev.OBIClose, OBIClose: prev.OBIClose,
	}
}

// AddTrade counts a trade in the bar; cvd is the cumulative volume delta after it.
func (f *FlowBar) AddTrade(side Side, price, size, cvd float64) {
	if f.Trades == 0 {
		f.Open, f.High, f.Low = price, price, price
	}
	f.High = max(f.High, price)
	f.Low = min(f.Low, price)
	f.Close = price
	f.Volume += size
	f.Trades++
	switch side {
	case Buy:
		f.BuyVolume += size
		f.Delta += size
	case Sell:
		f.SellVolume += size
		f.Delta -= size
	}
	f.CVD = cvd
}

// AddOBI counts one OBI sample in the bar.
func (f *FlowBar) AddOBI(obi float64) {
	if f.OBISamples == 0 {
		f.OBIOpen, f.OBIHigh, f.OBILow = obi, obi, obi
	}
	f.OBIHigh = max(f.OBIHigh, obi)
	f.OBILow = min(f.OBILow, obi)
	f.OBIClose = obi
	f.OBISamples++
}

// FlowSeries keeps the newest bars of one interval: contiguous (an interval with nothing in it
// gets a carried bar), at most its capacity. Samples older than the kept bars are dropped;
// samples inside them update the bar they fall in.
type FlowSeries struct {
	tf    Timeframe
	bars  []FlowBar // ring
	start int       // index of the oldest bar
	n     int
	late  int64
}

// NewFlowSeries keeps up to capacity bars of tf (capacity at least 1).
func NewFlowSeries(tf Timeframe, capacity int) *FlowSeries {
	return &FlowSeries{tf: tf, bars: make([]FlowBar, max(capacity, 1))}
}

// Timeframe is the series' interval.
func (s *FlowSeries) Timeframe() Timeframe { return s.tf }

// Len is the number of bars kept.
func (s *FlowSeries) Len() int { return s.n }

// Dropped counts samples older than every kept bar.
func (s *FlowSeries) Dropped() int64 { return s.late }

func (s *FlowSeries) at(i int) *FlowBar { return &s.bars[(s.start+i)%len(s.bars)] }

// bar returns the bar a sample at t belongs to, creating it (and carried bars before it), or
// nil when t is older than every kept bar.
func (s *FlowSeries) bar(t int64) *FlowBar {
	end := s.tf.End(t)
	step := s.tf.Millis()
	if s.n == 0 {
		s.start, s.n = 0, 1
		s.bars[0] = FlowBar{Time: end}
		return &s.bars[0]
	}
	last := s.at(s.n - 1)
	if end <= last.Time {
		k := int((last.Time - end) / step)
		if k >= s.n {
			s.late++
			return nil
		}
		return s.at(s.n - 1 - k)
	}
	gap := (end - last.Time) / step
	if gap > int64(len(s.bars)) { // everything kept would be pushed out: restart from a carry
		prev := *last
		s.start, s.n = 0, 1
		s.bars[0] = carry(prev, end)
		return &s.bars[0]
	}
	for t := last.Time + step; t <= end; t += step {
		prev := *s.at(s.n - 1)
		if s.n < len(s.bars) {
			s.n++
		} else {
			s.start = (s.start + 1) % len(s.bars)
		}
		*s.at(s.n - 1) = carry(prev, t)
	}
	return s.at(s.n - 1)
}

// AddTrade counts a trade; cvd is the cumulative volume delta after it. A trade that falls in
// an older kept bar updates that bar and shifts the CVD of the bars after it.
func (s *FlowSeries) AddTrade(tr Trade, cvd float64) {
	b := s.bar(tr.Time)
	if b == nil {
		return
	}
	last := s.at(s.n - 1)
	if b == last {
		b.AddTrade(tr.Side, tr.Price, tr.Size, cvd)
		return
	}
	d := float64(tr.Side) * tr.Size
	if tr.Side != Buy && tr.Side != Sell {
		d = 0
	}
	b.AddTrade(tr.Side, tr.Price, tr.Size, b.CVD+d)
	for i := s.n - 1; i >= 0 && s.at(i) != b; i-- {
		s.at(i).CVD += d
	}
}

// AddOBI counts an OBI sample taken at t.
func (s *FlowSeries) AddOBI(t int64, obi float64) {
	if b := s.bar(t); b != nil {
		b.AddOBI(obi)
	}
}

// AddAlert counts an alert fired at t.
func (s *FlowSeries) AddAlert(t int64) {
	if b := s.bar(t); b != nil {
		b.Alerts++
	}
}

// Advance creates carried bars up to the one containing now, so a quiet market still moves the
// time axis.
func (s *FlowSeries) Advance(now int64) {
	if s.n > 0 && s.tf.End(now) > s.at(s.n-1).Time {
		s.bar(now)
	}
}

// Bars appends up to n of the newest bars, oldest first, to dst (n <= 0: all).
func (s *FlowSeries) Bars(n int, dst []FlowBar) []FlowBar {
	if n <= 0 || n > s.n {
		n = s.n
	}
	for i := s.n - n; i < s.n; i++ {
		dst = append(dst, *s.at(i))
	}
	return dst
}
