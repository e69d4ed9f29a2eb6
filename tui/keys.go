package tui

import "github.com/charmbracelet/bubbles/key"

// Package-level key bindings. Each carries its own help text: the footer and the `?` overlay
// are generated from them, so a key cannot be bound without being documented.

// GlobalKeyMap holds the keys the root model handles whatever pane has the focus.
type GlobalKeyMap struct {
	Tab     key.Binding
	NextTab key.Binding
	PrevTab key.Binding
	Help    key.Binding
	Close   key.Binding
	Pause   key.Binding
	Panic   key.Binding
	Quit    key.Binding
}

// globalKeys are handled by the root model whatever pane has the focus.
var globalKeys = GlobalKeyMap{
	Tab:     key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9", "jump to tab")),
	NextTab: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next tab")),
	PrevTab: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous tab")),
	Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "all keys")),
	Close:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help")),
	Pause:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause")),
	Panic:   key.NewBinding(key.WithKeys("!"), key.WithHelp("!", "panic: stop all bots")),
	Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
}

// marketKeys are the Market pane's keys.
var marketKeys = struct {
	NextSymbol key.Binding
	PrevSymbol key.Binding
	NextTF     key.Binding
	PrevTF     key.Binding
	Back       key.Binding
	Forward    key.Binding
	Oldest     key.Binding
	Live       key.Binding
	Tape       key.Binding
	Reload     key.Binding
}{
	NextSymbol: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "next symbol")),
	PrevSymbol: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "previous symbol")),
	NextTF:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "next timeframe")),
	PrevTF:     key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "previous timeframe")),
	Back:       key.NewBinding(key.WithKeys("left"), key.WithHelp("←", "scroll back in history")),
	Forward:    key.NewBinding(key.WithKeys("right"), key.WithHelp("→", "scroll forward")),
	Oldest:     key.NewBinding(key.WithKeys("home"), key.WithHelp("home", "oldest candles")),
	Live:       key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "back to live")),
	Tape:       key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "show/hide trades tape")),
	Reload:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reload candles")),
}

// orderFlowKeys are the Order flow pane's own keys; it cycles symbols with the Market pane's
// s / S bindings.
var orderFlowKeys = struct {
	NextWindow key.Binding
	PrevWindow key.Binding
}{
	NextWindow: key.NewBinding(key.WithKeys("w", "]"), key.WithHelp("w/]", "wider bars (window)")),
	PrevWindow: key.NewBinding(key.WithKeys("W", "["), key.WithHelp("W/[", "narrower bars (window)")),
}

// jobsKeys are the Jobs pane's keys: the job list, the cancel confirmation, the new-job form
// and the result view. The pane lists them all in the ? overlay and the keys of what it
// shows in the footer.
var jobsKeys = struct {
	Up, Down, New, Sweep, Flow, Cancel, Open, Report key.Binding
	Yes, No                                          key.Binding // the cancel confirmation
	// The form (it takes every key but ctrl+c while open: typed text is not a shortcut).
	NextField, PrevField, Choice, Enter, Submit, CloseForm key.Binding
	// The result view (↑/↓ scroll its lists).
	Back, PageUp, PageDown, View key.Binding
	Scroll                       key.Binding // display only: ↑/↓ and pages in the result
}{
	Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "previous job")),
	Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "next job")),
	New:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new backtest")),
	Sweep:  key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "new sweep")),
	Flow:   key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "new order-flow run")),
	Cancel: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel job")),
	Open:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open result")),
	Report: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "write HTML report")),

	Yes: key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "confirm the cancel")),
	No:  key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "keep the job")),

	NextField: key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next form field")),
	PrevField: key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous field")),
	Choice:    key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "change choice")),
	Enter:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next field, last submits")),
	Submit:    key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "submit form")),
	CloseForm: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close form")),

	Back:     key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc/⌫", "back to the list")),
	PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
	PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
	View:     key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "charts/trades/ranking")),
	Scroll:   key.NewBinding(key.WithKeys("up", "down", "pgup", "pgdown"), key.WithHelp("↑↓/pgup/pgdn", "scroll result")),
}

// botsKeys are the Bots pane's keys: the list, its y/n questions, the bot form (the keys of
// the new-job form) and the detail view. In the list, p pauses (or resumes) the selected bot:
// the pane takes p from the global feed pause while it shows the list. The ? overlay lists
// the display bindings of botsHelp (pairs share an entry; the form's keys are the Jobs form's).
var botsKeys = struct {
	Up, Down, Start, Pause, Stop, New, Edit, Delete, Open, Refresh key.Binding
	Yes, No                                                        key.Binding // the stop / delete question
	// The detail view.
	Back, Lists, Scroll, PageUp, PageDown key.Binding
}{
	Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "previous bot")),
	Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "next bot")),
	Start:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "start/resume")),
	Pause:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause/resume")),
	Stop:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop, flatten (asks)")),
	New:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new bot")),
	Edit:    key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit (stopped)")),
	Delete:  key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete (asks)")),
	Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
	Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),

	Yes: key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
	No:  key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),

	Back:     key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc/⌫", "back")),
	Lists:    key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "signals/fills")),
	Scroll:   key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "scroll")),
	PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
	PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
}

// botsHelp are the display bindings of the Bots pane in the ? overlay.
var botsHelp = []key.Binding{
	key.NewBinding(key.WithKeys("up", "down", "k", "j"), key.WithHelp("↑↓/kj", "select")),
	botsKeys.Start, botsKeys.Pause, botsKeys.Stop, botsKeys.New, botsKeys.Edit, botsKeys.Delete, botsKeys.Open,
	botsKeys.Refresh,
	key.NewBinding(key.WithKeys("y", "n", "esc"), key.WithHelp("y/n", "answer")),
	botsKeys.Back, botsKeys.Lists,
	key.NewBinding(key.WithKeys("up", "down", "pgup", "pgdown"), key.WithHelp("↑↓/pgup/pgdn", "scroll")),
}

// positionsKeys are the Positions & P&L pane's keys.
var positionsKeys = struct {
	Curve, Up, Down, Refresh key.Binding
	Scroll                   key.Binding // display only: ↑/↓
}{
	Curve:   key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "curve: book, each bot")),
	Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
	Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
	Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
	Scroll:  key.NewBinding(key.WithKeys("up", "down", "k", "j"), key.WithHelp("↑↓/kj", "closed trades")),
}

// panicKeys answer the panic question (the overlay takes every key but ctrl+c).
var panicKeys = struct {
	Yes, No key.Binding
}{
	Yes: key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "confirm")),
	No:  key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "cancel")),
}

// feedsKeys are the Feeds pane's keys.
var feedsKeys = struct {
	Up   key.Binding
	Down key.Binding
}{
	Up:   key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
	Down: key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
}

// logsKeys are the Logs pane's keys.
var logsKeys = struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Level    key.Binding
}{
	Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
	Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
	PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/b", "page up")),
	PageDown: key.NewBinding(key.WithKeys("pgdown", " ", "f"), key.WithHelp("pgdn/f", "page down")),
	Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/home", "oldest, stop following")),
	Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "newest, follow")),
	Level:    key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "cycle min level")),
}

// shortKeys are display-only bindings for the footer, where pairs share one entry.
var shortKeys = struct {
	Tabs, Symbol, Timeframe, History, Scroll, Page, GoEnds, Live, Tape, Window key.Binding
	Select, New, Sweep, Flow, Cancel, Open, Report, Yes, No                    key.Binding
	Field, Choice, Next, Submit, CloseForm, Back, View, ForceQuit              key.Binding
	BotStart, BotPause, BotStop, BotNew, BotEdit, BotDelete, BotOpen, Refresh  key.Binding
	Lists, Curve, Panic, AnyKey, Confirm                                       key.Binding
}{
	Tabs:      key.NewBinding(key.WithKeys("1", "tab", "shift+tab"), key.WithHelp("1-9/tab", "tab")),
	Symbol:    key.NewBinding(key.WithKeys("s", "S"), key.WithHelp("s/S", "symbol")),
	Timeframe: key.NewBinding(key.WithKeys("t", "T"), key.WithHelp("t/T", "timeframe")),
	History:   key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "history")),
	Scroll:    key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "scroll")),
	Page:      key.NewBinding(key.WithKeys("pgup", "pgdown"), key.WithHelp("pgup/pgdn", "page")),
	GoEnds:    key.NewBinding(key.WithKeys("g", "G"), key.WithHelp("g/G", "top/follow")),
	Live:      key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "live")),
	Tape:      key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "tape")),
	Window:    key.NewBinding(key.WithKeys("w", "W", "[", "]"), key.WithHelp("w/W", "window")),

	Select:    key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "select")),
	New:       key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "backtest")),
	Sweep:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sweep")),
	Flow:      key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "order flow")),
	Cancel:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel")),
	Open:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "result")),
	Report:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "report")),
	Yes:       key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes, cancel it")),
	No:        key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),
	Field:     key.NewBinding(key.WithKeys("tab", "shift+tab", "up", "down"), key.WithHelp("tab/↑↓", "field")),
	Choice:    key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "choice")),
	Next:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next")),
	Submit:    key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "submit")),
	CloseForm: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	Back:      key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
	View:      key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "view")),
	ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),

	BotStart:  key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "start")),
	BotPause:  key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause")),
	BotStop:   key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop")),
	BotNew:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new")),
	BotEdit:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
	BotDelete: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete")),
	BotOpen:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "detail")),
	Refresh:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
	Lists:     key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "signals/fills")),
	Curve:     key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "curve")),
	Panic:     key.NewBinding(key.WithKeys("!"), key.WithHelp("!", "panic")),
	AnyKey:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("any key", "close")),
	Confirm:   key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
}
