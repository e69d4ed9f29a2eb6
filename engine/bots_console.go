package engine

import (
	"context"
	"errors"
)

// The console's bot methods (tui.Backend): they go to the Bots attached with AttachBots.

// errNoBots is returned by the bot methods of an engine without bots.
var errNoBots = errors.New("bots are not available in this process")

// AttachBots makes the engine hand closed candles and order flow to bots and serve the
// console's bot methods. Call it before Start.
func (e *Engine) AttachBots(b *Bots, runs bool) {
	e.bots, e.botsRun = b, runs
}

// BotsEnabled reports whether this process runs the bots.
func (e *Engine) BotsEnabled() bool { return e.bots != nil && e.botsRun }

func (e *Engine) botsFor(control bool) (*Bots, error) {
	if e.bots == nil {
		return nil, errNoBots
	}
	if control && !e.botsRun {
		return nil, errNotRunner
	}
	return e.bots, nil
}

// ListBots returns every bot, by name.
func (e *Engine) ListBots(ctx context.Context) ([]BotView, error) {
	b, err := e.botsFor(false)
	if err != nil {
		return nil, err
	}
	return b.List(ctx)
}

// CreateBot stores a new bot (stopped).
func (e *Engine) CreateBot(ctx context.Context, spec BotSpec) (BotView, error) {
	b, err := e.botsFor(true)
	if err != nil {
		return BotView{}, err
	}
	if spec.Exchange == "" {
		spec.Exchange = e.Exchange()
	}
	return b.Create(ctx, spec)
}

// UpdateBot replaces a stopped bot's definition.
func (e *Engine) UpdateBot(ctx context.Context, id int64, spec BotSpec) (BotView, error) {
	b, err := e.botsFor(true)
	if err != nil {
		return BotView{}, err
	}
	if spec.Exchange == "" {
		spec.Exchange = e.Exchange()
	}
	return b.Update(ctx, id, spec)
}

// DeleteBot deletes a stopped bot.
func (e *Engine) DeleteBot(ctx context.Context, id int64) error {
	b, err := e.botsFor(true)
	if err != nil {
		return err
	}
	return b.Delete(ctx, id)
}

// StartBot starts or resumes a bot.
func (e *Engine) StartBot(ctx context.Context, id int64) error {
	b, err := e.botsFor(true)
	if err != nil {
		return err
	}
	return b.StartBot(ctx, id)
}

// PauseBot pauses a bot's entries.
func (e *Engine) PauseBot(ctx context.Context, id int64) error {
	b, err := e.botsFor(true)
	if err != nil {
		return err
	}
	return b.PauseBot(ctx, id)
}

// StopBot flattens and stops a bot.
func (e *Engine) StopBot(ctx context.Context, id int64) error {
	b, err := e.botsFor(true)
	if err != nil {
		return err
	}
	return b.StopBot(ctx, id)
}

// BotDetail is a bot with its chart, signals, executions and equity.
func (e *Engine) BotDetail(ctx context.Context, id int64) (BotDetail, error) {
	b, err := e.botsFor(false)
	if err != nil {
		return BotDetail{}, err
	}
	return b.Detail(ctx, id, 300)
}

// Portfolio is every bot's book together.
func (e *Engine) Portfolio(ctx context.Context) (Portfolio, error) {
	b, err := e.botsFor(false)
	if err != nil {
		return Portfolio{}, err
	}
	return b.Portfolio(ctx)
}

// PanicPreview lists what Panic would do.
func (e *Engine) PanicPreview(ctx context.Context) (PanicPreview, error) {
	b, err := e.botsFor(false)
	if err != nil {
		return PanicPreview{}, err
	}
	return b.PanicPreview(ctx)
}

// Panic stops every bot and flattens every position.
func (e *Engine) Panic(ctx context.Context) (PanicReport, error) {
	b, err := e.botsFor(true)
	if err != nil {
		return PanicReport{}, err
	}
	return b.Panic(ctx)
}
